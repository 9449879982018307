"""Property tests: noise within the gap still matches with exact offsets; unlisted text never matches."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.lists.memory import MemoryListStore
from detectors.lists.types import EntryIn
from detectors.matcher.matcher import Matcher

TERMS = ["赌博", "六合彩", "网络赌场", "vpn"]
GAP = 3
NOISE = list(" \t*-_~·•、，,.:\"'()[]【】《》「」@#$%^&+=|/\\\u200b\u200c\u200d\ufeff😀🎰✨★☆♥")
SAFE = list("天地人山水火木金土日月星风云雨雪花草树林我你他她们的是在有和了不这个中大小")


def _matcher() -> Matcher:
    store = MemoryListStore()
    store.create_list("p", "keyword", "gambling", "high", options={"noise_gap": GAP})
    store.upsert_entries("p", [EntryIn(t) for t in TERMS])
    return Matcher(store.snapshot())


MATCHER = _matcher()


@st.composite
def noisy(draw):
    term = draw(st.sampled_from(TERMS))
    parts = [term[0]]
    for ch in term[1:]:
        parts.append("".join(draw(st.lists(st.sampled_from(NOISE), max_size=GAP))))
        parts.append(ch)
    prefix = "".join(draw(st.lists(st.sampled_from(SAFE), max_size=8)))
    suffix = "".join(draw(st.lists(st.sampled_from(SAFE), max_size=8)))
    return term, prefix, "".join(parts), suffix


@settings(max_examples=300, deadline=None)
@given(noisy())
def test_noise_within_gap_matches_with_offsets(case) -> None:
    term, prefix, body, suffix = case
    if term == "vpn":  # whole-word: keep Latin letters apart from the Chinese context
        prefix, suffix = prefix + " ", " " + suffix
    text = prefix + body + suffix
    got = [f for f in MATCHER.match(text) if f.term == term]
    assert got, (text, MATCHER.match(text))
    f = got[0]
    assert (f.char_start, f.char_end) == (len(prefix), len(prefix) + len(body))
    assert f.matched == body


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(SAFE + NOISE + list("abcdxyz0123457。！\n")), max_size=200))
def test_text_without_listed_terms_never_matches(text) -> None:
    assert MATCHER.match(text) == []


MIXED = SAFE + NOISE + list("賭博網站六陸⑥合彩ＶＰＮvpn。！\n赌赌博博")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(MIXED), max_size=300))
def test_normalized_text_maps_back_character_by_character(text) -> None:
    from detectors.matcher.normalize import Profile, normalize, table_for

    table = table_for(Profile(noise_gap=GAP))
    norm = normalize(text, table)
    index = norm.index.tolist()
    assert len(index) == len(norm.text)
    assert index == sorted(set(index))  # strictly increasing
    assert all(0 <= i < len(text) for i in index)
    for ch, i in zip(norm.text, index, strict=True):
        assert ord(ch) == int(table.lut[ord(text[i])])


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(MIXED), max_size=400), st.lists(st.integers(1, 60), min_size=1, max_size=10))
def test_pieces_and_whole_give_the_same_hits(text, cuts) -> None:
    import detectors.matcher.matcher as mm

    pieces, pos = [], 0
    for c in cuts:
        pieces.append(text[pos : pos + c])
        pos += c
    pieces.append(text[pos:])
    whole = [(f.char_start, f.char_end, f.term) for f in MATCHER.match(text)]  # one window
    old = mm.CHUNK_CHARS
    mm.CHUNK_CHARS = 50  # force many windows on short texts
    try:
        chunked = [(f.char_start, f.char_end, f.term) for f in MATCHER.match(text)]
        streamed = [(f.char_start, f.char_end, f.term) for f in MATCHER.match_stream(pieces)]
    finally:
        mm.CHUNK_CHARS = old
    assert chunked == whole
    assert streamed == whole
    for s, e, _ in whole:
        assert 0 <= s < e <= len(text)
