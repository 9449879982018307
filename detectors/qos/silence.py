"""Silence: the audio stays below a level for a minimum duration.

As ffmpeg's silencedetect: samples whose magnitude is below ``noise_db``
(dBFS, amplitude) are silent; here judged per ``window`` (10 ms) by its peak,
so the boundaries are exact to one window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from core.errors import BadInput
from detectors.base import AUDIO_CHUNK, Example, Finding
from detectors.qos._base import AudioCheck


@dataclass
class SilenceOptions:
    noise_db: float = -60.0  # peak level (dBFS) under which audio is silent
    min_duration: float = 2.0
    recovery: float = 0.0
    window: float = 0.01  # seconds per decision


def as_mono(pcm: np.ndarray) -> np.ndarray:
    x = np.asarray(pcm, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0 if x.shape[0] < x.shape[1] else 1)
    if x.ndim != 1:
        raise BadInput(f"expected mono PCM samples, got shape {x.shape}")
    return x


class SilenceDetector(AudioCheck):
    name: ClassVar[str] = "silence"
    kinds: ClassVar[tuple[str, ...]] = (AUDIO_CHUNK,)
    description: ClassVar[str] = "silence for longer than the minimum duration"
    Options: ClassVar[type] = SilenceOptions

    def feed_audio(self, pcm: np.ndarray, sample_rate: int, t0: float) -> list[Finding]:
        x = as_mono(pcm)
        if sample_rate <= 0:
            raise BadInput(f"sample rate must be positive, got {sample_rate}")
        self._check_order(t0)
        if x.size == 0:
            return []
        win = max(1, int(round(self.options.window * sample_rate)))
        n_full = x.size // win
        peaks = np.abs(x[: n_full * win]).reshape(n_full, win).max(axis=1) if n_full else np.empty(0)
        if x.size % win:
            peaks = np.append(peaks, np.abs(x[n_full * win :]).max())
        silent = peaks < 10.0 ** (self.options.noise_db / 20.0)
        out: list[Finding] = []
        # only transitions matter to the hysteresis, plus the open recovery window
        prev = None
        for i, s in enumerate(silent.tolist()):
            if s != prev or (not s and self.hyst.off_since is not None) or (s and not self.hyst.active):
                t = t0 + i * win / sample_rate
                out += self._findings(self.hyst.update(t, s))
            prev = s
        self.last_t = t0 + x.size / sample_rate
        return out

    @classmethod
    def examples(cls) -> list[Example]:
        return [
            Example("gap", [(1.0, 0.5), (3.0, 0.0), (1.0, 0.5)], [{"detector": "silence", "start": 1.0, "end": 4.0}]),
            Example("short gap", [(1.0, 0.5), (1.0, 0.0), (1.0, 0.5)], []),
        ]
