"""Loudness (EBU R128) against ffmpeg's ebur128 within 0.5 LU, plus too-loud and true-peak findings."""

from __future__ import annotations

import json
import subprocess

import av
import numpy as np
import pytest

from detectors.qos.loudness import LoudnessDetector
from tests.detectors.qos.conftest import FFMPEG, ffmpeg_loudness, needs_ffmpeg


def _decode(path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        parts = [fr.to_ndarray().reshape(-1) for fr in c.decode(stream)]
        return np.concatenate(parts).astype(np.float32), stream.rate


def _measure(pcm: np.ndarray, sr: int, chunk: float = 0.37, **opts) -> tuple[LoudnessDetector, list]:
    det = LoudnessDetector({"report_integrated": "always", **opts})
    n = int(chunk * sr)
    out = []
    for i in range(0, pcm.size, n):
        out += det.feed_audio(pcm[i : i + n], sr, i / sr)
    return det, out + det.finish(pcm.size / sr)


@needs_ffmpeg
@pytest.mark.parametrize("spec", [
    "sine=frequency=1000:sample_rate=48000:duration=8,volume=0.1",
    # loud then quiet: the relative gate matters
    "sine=frequency=440:sample_rate=48000:duration=12,volume='if(lt(t,6),0.5,0.02)':eval=frame",
    "anoisesrc=color=pink:sample_rate=48000:duration=10:amplitude=0.2:seed=7",
])
def test_integrated_matches_ffmpeg(tmp_path, spec):
    path = tmp_path / "tone.wav"
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-f", "lavfi", "-i", spec, "-ac", "1", "-c:a", "pcm_f32le",
                    str(path)], check=True, timeout=60)
    pcm, sr = _decode(path)
    det, found = _measure(pcm, sr)
    integrated = [f for f in found if f.values.get("measure") == "integrated"]
    assert len(integrated) == 1
    assert abs(integrated[0].value - ffmpeg_loudness(path)) <= 0.5


def test_too_loud_and_true_peak_segments():
    sr = 16000
    t = np.arange(sr * 14) / sr
    amp = np.where((t >= 4) & (t < 10), 0.95, 0.02)
    pcm = (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    _, found = _measure(pcm, sr)
    loud = [f for f in found if f.values.get("measure") == "short_term"]
    peaks = [f for f in found if f.values.get("measure") == "true_peak"]
    # short-term loudness is a 3 s window, timed at its centre
    assert len(loud) == 1 and 2.5 <= loud[0].start <= 5.5 and 9.0 <= loud[0].end <= 13.0
    assert len(peaks) == 1 and abs(peaks[0].start - 4.0) <= 0.2 and abs(peaks[0].end - 10.0) <= 1.2
    assert peaks[0].value > -1.0


def test_state_round_trip_gives_the_same_result():
    sr = 16000
    rng = np.random.default_rng(3)
    pcm = (rng.standard_normal(sr * 9) * np.repeat([0.05, 0.4, 0.05], sr * 3)).astype(np.float32)
    _, whole = _measure(pcm, sr, chunk=0.5)
    first = LoudnessDetector({"report_integrated": "always"})
    half = pcm.size // 2
    out = first.feed_audio(pcm[:half], sr, 0.0)
    second = LoudnessDetector({"report_integrated": "always"})
    second.set_state(json.loads(json.dumps(first.get_state())))
    out += second.feed_audio(pcm[half:], sr, half / sr) + second.finish(pcm.size / sr)
    assert [f.to_json() for f in out][-1]["value"] == pytest.approx([f.to_json() for f in whole][-1]["value"], abs=0.01)


@needs_ffmpeg
def test_scan_measures_loudness_at_full_band(tmp_path):
    # broadband noise: resampling to 16 kHz for speech would lose the top octave (about 1.4 LU here)
    from detectors.media import scan_file

    path = tmp_path / "pink.wav"
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "anoisesrc=color=pink:sample_rate=48000:duration=10:amplitude=0.2:seed=7", "-ac", "1",
                    str(path)], check=True, timeout=60)
    found = [f for f in scan_file(str(path), {"loudness"}) if f.values.get("measure") == "integrated"]
    assert len(found) == 1 and abs(found[0].value - ffmpeg_loudness(path)) <= 0.5
