"""Small audio helpers shared by the media detectors."""

from __future__ import annotations

from math import gcd

import numpy as np


def resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling of mono float audio."""
    if rate_in == rate_out:
        return np.asarray(pcm, dtype=np.float32)
    from scipy.signal import resample_poly

    g = gcd(int(rate_in), int(rate_out))
    return resample_poly(np.asarray(pcm, dtype=np.float32), rate_out // g, rate_in // g).astype(np.float32)


def read_wav_mono(path: str) -> tuple[np.ndarray, int]:
    """A WAV file as float32 mono samples and its rate."""
    from scipy.io import wavfile

    rate, data = wavfile.read(path)
    x = np.asarray(data)
    if x.dtype.kind == "i":
        x = x.astype(np.float32) / float(np.iinfo(data.dtype).max)
    x = x.astype(np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return x, int(rate)
