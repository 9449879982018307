"""The media façade: per-source pipelines over shared engines, texts out, checkpoint and resume."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import BadInput
from core.services import Services
from core.settings import get_settings, reset_settings_cache
from detectors.media import MediaOptions, MediaPipeline, TextOut, expand_only, make_engines
from detectors.media_audio import read_wav_mono

MEDIA = Path(__file__).parent.parent / "fixtures" / "media"
needs_extras = pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is None or importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason="needs the asr and ocr extras")


@pytest.fixture()
def services(tmp_path, monkeypatch, whisper_base):
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("QINGLANG_ASR_MODEL", str(whisper_base))
    reset_settings_cache()
    svc = Services(get_settings())
    yield svc
    svc.close()
    reset_settings_cache()


def test_options_and_only_words():
    assert expand_only({"qos"}) == {"black", "freeze", "silence", "loudness", "signal_loss", "colour_bars"}
    assert MediaOptions(enabled=["qos", "asr"]).enabled == expand_only({"qos", "asr"})
    with pytest.raises(BadInput, match="unknown detector"):
        expand_only({"blak"})
    with pytest.raises(BadInput, match="unknown media option"):
        MediaOptions.of({"fsp": 3})


@needs_extras
def test_engines_shared_pipelines_per_source_with_resume(services):
    engines = make_engines(services, {"asr", "ocr", "fingerprints"})
    assert {"asr", "ocr"} <= set(engines)
    pcm, sr = read_wav_mono(str(MEDIA / "speech_weather.wav"))
    audio = np.concatenate([pcm, np.zeros(sr * 2, np.float32), pcm])
    opts = {"enabled": ["asr", "silence"], "detectors": {"asr": {"chunk_seconds": 8.0}}}

    def run(split: int | None) -> tuple[list[dict], list[TextOut]]:
        pipe = MediaPipeline(opts, **engines)
        other = MediaPipeline(opts, **engines)  # a second source shares the engines, not the state
        found, texts = [], []
        for k, i in enumerate(range(0, audio.size, sr)):
            if k == split:
                state = json.loads(json.dumps(pipe.get_state()))
                pipe = MediaPipeline(opts, **engines)
                pipe.set_state(state)
            f, t = pipe.on_audio(audio[i : i + sr], sr, 100.0 + i / sr)
            other.on_audio(np.zeros(sr, np.float32), sr, i / sr)
            found += f
            texts += t
        f, t = pipe.finish_all(100.0 + audio.size / sr)
        return [x.to_json() for x in found + f], texts + t

    found, texts = run(None)
    assert [t.origin for t in texts] == ["asr", "asr"] and all(t.start >= 100.0 for t in texts)
    assert all("公园" in t.text or "公園" in t.text for t in texts), texts
    found2, texts2 = run(6)
    assert [(t.text, t.start) for t in texts2] == [(t.text, t.start) for t in texts]
    assert found2 == found


def test_frames_feed_keyframe_detectors_only_on_keyframes():
    pipe = MediaPipeline({"enabled": ["black", "signal_loss"]})
    black = np.zeros((36, 64, 3), np.uint8)
    for i in range(10):
        f, t = pipe.on_frame(black, float(i), keyframe=i % 2 == 0)
        assert f == [] and t == []
    end = pipe.finish(10.0)
    assert [(x.detector, x.start, x.end) for x in end] == [("black", 0.0, 10.0)]
    assert pipe.final_texts == []


def test_time_jump_back_restarts_the_checks():
    pipe = MediaPipeline({"enabled": ["black"]})
    black = np.zeros((36, 64, 3), np.uint8)
    for i in range(5):
        pipe.on_frame(black, 100.0 + i)
    found, _ = pipe.on_frame(black, 0.0)  # the stream restarted at 0
    assert [(x.start, x.end) for x in found] == [(100.0, 104.0)]
