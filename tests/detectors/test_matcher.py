"""The matcher: one table row per evasion rule, negative cases, allow-lists, offsets back into the input."""

from __future__ import annotations

import pytest

from detectors.lists.memory import MemoryListStore
from detectors.lists.types import EntryIn
from detectors.matcher.matcher import CHUNK_CHARS, Matcher


def make(terms, *, options=None, pinyin=(), allow=(), scoped_allow=(), extra_lists=()) -> Matcher:
    store = MemoryListStore()
    store.create_list("main", "keyword", "gambling", "high", options=options)
    store.upsert_entries("main", [EntryIn(t, pinyin=t in pinyin) for t in terms])
    for name, kind, items in extra_lists:
        store.create_list(name, kind, "fraud", "low")
        store.upsert_entries(name, [EntryIn(t) for t in items])
    for phrase in allow:
        store.add_allow(phrase)
    for phrase, list_name in scoped_allow:
        store.add_allow(phrase, list_name)
    return Matcher(store.snapshot())


def spans(m: Matcher, text: str) -> list[tuple[int, int, str, str]]:
    return [(f.char_start, f.char_end, f.matched, f.term) for f in m.match(text)]


EVASIONS = [
    # (rule, entry, text, matched)
    ("case", "vpn", "用VpN翻墙", "VpN"),
    ("width", "vpn", "用ｖｐｎ翻墙", "ｖｐｎ"),
    ("width", "qq群88", "ＱＱ群８８", "ＱＱ群８８"),
    ("compat", "vpn", "用⒱⒫⒩翻墙", "⒱⒫⒩"),
    ("compat", "vpn", "用𝐯𝐩𝐧翻墙", "𝐯𝐩𝐧"),
    ("compat", "a1", "看ⓐ¹视频", "ⓐ¹"),
    ("t2s", "赌博网站", "賭博網站", "賭博網站"),
    ("t2s", "发财", "發財", "發財"),
    ("numeral", "六合彩", "六合彩 陸合彩", "陸合彩"),
    ("numeral", "2号", "贰号", "贰号"),
    ("numeral", "2号", "②号", "②号"),
    ("numeral", "2号", "⑵号", "⑵号"),
    ("noise", "赌博", "赌 博", "赌 博"),
    ("noise", "赌博", "赌-_-博", "赌-_-博"),
    ("noise", "赌博", "赌\u200b\u200d博", "赌\u200b\u200d博"),
    ("noise", "赌博", "赌🎰博", "赌🎰博"),
    ("noise", "赌博", "赌，博", "赌，博"),
    ("repeat", "赌博", "赌赌赌博博", "赌赌赌博博"),
    ("repeat", "赌博", "赌 赌博", "赌 赌博"),
]


@pytest.mark.parametrize(("rule", "entry", "text", "matched"), EVASIONS, ids=[f"{e[0]}-{e[2]}" for e in EVASIONS])
def test_evasion_rule_fires(rule, entry, text, matched) -> None:
    m = make([entry])
    found = [f for f in m.match(text) if f.matched == matched]
    assert found, (text, spans(m, text))
    f = found[0]
    assert text[f.char_start : f.char_end] == matched
    assert rule in f.rules
    assert f.term == entry


def test_pinyin_and_homophone_only_for_flagged_entries() -> None:
    flagged = make(["赌博"], pinyin={"赌博"})
    plain = make(["赌博"])
    for text, rule in (("来玩dubo", "pinyin"), ("来玩DU-BO", "pinyin"), ("来玩赌bo", "pinyin"), ("来玩睹博", "homophone")):
        got = flagged.match(text)
        assert got and rule in got[0].rules, (text, spans(flagged, text))
        assert plain.match(text) == [], text


def test_pinyin_variant_is_whole_word() -> None:
    m = make(["赌博"], pinyin={"赌博"})
    assert m.match("kudubox") == []


def test_rule_can_be_switched_off_per_list() -> None:
    off = {"t2s": False, "noise_gap": 0, "repeats": False, "numerals": False, "case": False, "width": False}
    m = make(["赌博", "vpn", "六合彩"], options=off)
    for text in ("賭博", "赌 博", "六六合合彩", "VPN", "ｖｐｎ", "陸合彩"):
        assert m.match(text) == [], text
    assert spans(m, "有赌博") == [(1, 3, "赌博", "赌博")]


def test_noise_gap_is_configurable() -> None:
    text = "赌 * * 博"  # five noise characters
    assert make(["赌博"]).match(text) == []  # default gap 3
    assert spans(make(["赌博"], options={"noise_gap": 5}), text) == [(0, 7, text, "赌博")]


@pytest.mark.parametrize(
    "text",
    [
        "今天天气很好，我们去公园散步。",
        "我不赌。博物馆开门了",  # split across sentences
        "我不赌！博物馆开门了",
        "alphabet soup",  # Latin term inside a longer word
        "betting is a word",
        "赌   .   .   博",  # noise wider than the gap
        "",
    ],
)
def test_negative_cases(text) -> None:
    assert make(["赌博", "bet"]).match(text) == []


def test_allow_list_suppresses_shorter_term_inside_longer_phrase() -> None:
    m = make(["黄片"], allow=["三黄片"])
    assert m.match("三黄片") == []
    assert m.match("三 黄 片") == []  # the allowed phrase is normalized the same way
    assert spans(m, "三黄片和黄片") == [(4, 6, "黄片", "黄片")]


def test_allow_list_scope() -> None:
    m = make(["黄片"], scoped_allow=[("三黄片", "other")], extra_lists=[("other", "keyword", ["黄片"])])
    got = {(f.values["list"], f.char_start) for f in m.match("三黄片")}
    assert got == {("main", 1)}  # only the other list is exempt


def test_offsets_map_back_with_mixed_evasions() -> None:
    m = make(["赌博网站", "六合彩"])
    text = "你好 ①　賭\u200b博 網  站 和 ⑹合彩!"
    got = m.match(text)
    assert [(text[f.char_start : f.char_end], f.term) for f in got] == [("賭\u200b博 網  站", "赌博网站"), ("⑹合彩", "六合彩")]
    for f in got:
        assert f.matched == text[f.char_start : f.char_end]


def test_hit_carries_list_entry_version() -> None:
    store = MemoryListStore()
    store.create_list("g", "keyword", "gambling", "high")
    store.upsert_entries("g", [EntryIn("赌博", severity="critical", category="fraud")])
    f = Matcher(store.snapshot()).match("赌博")[0]
    entry, _ = store.entries("g")
    assert f.values["list"] == "g"
    assert f.values["entry_id"] == str(entry[0].id)
    assert f.values["list_version"] == store.get_list("g").version
    assert (f.category, f.severity) == ("fraud", "critical")
    assert f.values["normalized"] == "赌博"


def test_disabled_list_and_tombstone_do_not_match() -> None:
    store = MemoryListStore()
    store.create_list("g", "keyword", "gambling", "high")
    store.upsert_entries("g", [EntryIn("赌博"), EntryIn("六合彩")])
    store.disable_entry("g", "赌博")
    assert [f.term for f in Matcher(store.snapshot()).match("赌博 六合彩")] == ["六合彩"]
    store.update_list("g", {"enabled": False})
    assert Matcher(store.snapshot()).match("赌博 六合彩") == []


def test_validity_window() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    store = MemoryListStore()
    store.create_list("g", "keyword", "gambling", "high")
    store.upsert_entries("g", [EntryIn("赌博", valid_until=now - timedelta(days=1)), EntryIn("六合彩", valid_from=now + timedelta(days=1))])
    m = Matcher(store.snapshot())
    assert m.match("赌博 六合彩") == []
    assert m.next_change is not None and m.next_change > now


def test_long_text_in_chunks_matches_across_chunk_edges() -> None:
    m = make(["赌博网站"])
    filler = "天" * (CHUNK_CHARS - 2)
    text = filler + "赌 博网站" + filler + "賭博網站"
    got = m.match(text)
    assert [(f.char_start, f.matched) for f in got] == [(len(filler), "赌 博网站"), (2 * len(filler) + 5, "賭博網站")]
    assert list(m.match_stream(text[i : i + 1000] for i in range(0, len(text), 1000))) == got


def test_fingerprint_lists_are_not_text() -> None:
    m = make(["x"], extra_lists=[("clips", "fingerprint", ["赌博"])])
    assert m.match("赌博") == []
