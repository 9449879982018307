"""Loudness per EBU R128 / ITU-R BS.1770: short-term, integrated, true peak.

Own streaming implementation so state survives a checkpoint: K-weighting as
two biquads (state kept), mean square per 100 ms sub-block, short-term over
3 s, integrated with the absolute (-70 LUFS) and relative (-10 LU) gates over
400 ms blocks kept as a histogram of 0.05 LU bins (constant-size state), and
true peak from 4x oversampled audio.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.signal import resample_poly, sosfilt

from core.errors import BadInput
from detectors.base import AUDIO_CHUNK, Example, Finding
from detectors.qos._base import AudioCheck
from detectors.qos._segments import Hysteresis
from detectors.qos.silence import as_mono

BIN = 0.05  # LU per histogram bin
LOW = -70.0  # absolute gate


@dataclass
class LoudnessOptions:
    max_short_term: float = -15.0  # LUFS; louder than this for min_duration is reported
    min_duration: float = 3.0
    recovery: float = 1.0
    max_true_peak: float = -1.0  # dBTP
    target: float = -23.0  # programme loudness target (LUFS)
    tolerance: float = 2.0  # LU around target before the integrated value is reported
    report_integrated: str = "outside"  # "always" | "outside" | "never"


def k_weighting(rate: int) -> np.ndarray:
    """Second-order sections of the BS.1770 K filter at ``rate`` (pre-filter, then RLB)."""
    f0, gain, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    pre = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
           1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    rlb = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([pre, rlb], dtype=np.float64)


def lufs(mean_square: float) -> float:
    return -0.691 + 10.0 * math.log10(mean_square) if mean_square > 0 else -math.inf


class LoudnessDetector(AudioCheck):
    name: ClassVar[str] = "loudness"
    kinds: ClassVar[tuple[str, ...]] = (AUDIO_CHUNK,)
    description: ClassVar[str] = "EBU R128 loudness: too loud (short-term), true peak over, programme off target"
    Options: ClassVar[type] = LoudnessOptions

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.peak_hyst = Hysteresis(0.0, self.options.recovery)
        self.rate: int | None = None
        self.zi = np.zeros((2, 2))
        self.pending = np.empty(0, dtype=np.float64)
        self.pending_t = 0.0
        self.subs: deque[float] = deque(maxlen=30)  # last 3 s of sub-block mean squares
        self.hist_n: dict[int, int] = {}
        self.hist_e: dict[int, float] = {}
        self.first_t: float | None = None
        self.max_tp = -math.inf

    # -- measuring -------------------------------------------------------------
    def feed_audio(self, pcm: np.ndarray, sample_rate: int, t0: float) -> list[Finding]:
        x = as_mono(pcm).astype(np.float64)
        if sample_rate <= 0:
            raise BadInput(f"sample rate must be positive, got {sample_rate}")
        if self.rate is None:
            self.rate = sample_rate
        elif sample_rate != self.rate:
            raise BadInput(f"loudness: sample rate changed from {self.rate} to {sample_rate}",
                           hint="resample audio to one rate per source")
        self._check_order(t0)
        if self.first_t is None:
            self.first_t = t0
        if not self.pending.size:
            self.pending_t = t0
        y, self.zi = sosfilt(k_weighting(sample_rate), x, zi=self.zi)
        tp = np.abs(resample_poly(x, 4, 1)) if x.size > 8 else np.abs(x)
        self.pending = np.concatenate([self.pending, y])
        n = sample_rate // 10
        out: list[Finding] = []
        done = 0
        while self.pending.size - done >= n:
            ms = float(np.mean(self.pending[done : done + n] ** 2))
            t_end = self.pending_t + (done + n) / sample_rate
            lo = int(max(0, (t_end - t0 - 0.1) * sample_rate * 4))
            hi = int(max(0, (t_end - t0) * sample_rate * 4))
            peak = float(tp[lo:hi].max()) if hi > lo and lo < tp.size else 0.0
            out += self._sub_block(ms, peak, t_end)
            done += n
        self.pending = self.pending[done:]
        self.pending_t += done / sample_rate
        return out

    def _sub_block(self, ms: float, peak: float, t_end: float) -> list[Finding]:
        self.subs.append(ms)
        out: list[Finding] = []
        if len(self.subs) >= 4:
            block = lufs(sum(list(self.subs)[-4:]) / 4.0)
            if block > LOW:
                b = int(math.floor((block - LOW) / BIN))
                self.hist_n[b] = self.hist_n.get(b, 0) + 1
                self.hist_e[b] = self.hist_e.get(b, 0.0) + sum(list(self.subs)[-4:]) / 4.0
        if len(self.subs) == 30:
            st = lufs(sum(self.subs) / 30.0)
            out += self._tag(self.hyst.update(t_end - 1.5, st > self.options.max_short_term, st), "short_term")
        tp_db = 20.0 * math.log10(peak) if peak > 0 else -math.inf
        self.max_tp = max(self.max_tp, tp_db)
        out += self._tag(self.peak_hyst.update(t_end - 0.1, tp_db > self.options.max_true_peak, tp_db), "true_peak")
        return out

    def _tag(self, segments: list, measure: str) -> list[Finding]:
        found = self._findings(segments)
        for f in found:
            f.values["measure"] = measure
            f.values.pop("mean", None)
        return found

    def integrated(self) -> float | None:
        """Gated programme loudness so far (LUFS), None before any audible block."""
        if not self.hist_n:
            return None
        n = sum(self.hist_n.values())
        rel = lufs(sum(self.hist_e.values()) / n) - 10.0
        keep = [b for b in self.hist_n if LOW + (b + 0.5) * BIN > rel]
        if not keep:
            return None
        return lufs(sum(self.hist_e[b] for b in keep) / sum(self.hist_n[b] for b in keep))

    def finish(self, t_end: float) -> list[Finding]:
        out = self._tag(self.hyst.finish(t_end), "short_term")
        out += self._tag(self.peak_hyst.finish(t_end), "true_peak")
        value = self.integrated()
        mode = self.options.report_integrated
        off = value is not None and abs(value - self.options.target) > self.options.tolerance
        if value is not None and (mode == "always" or (mode == "outside" and off)):
            out.append(Finding(
                detector=self.name, start=round(self.first_t or 0.0, 3), end=round(t_end, 3),
                value=round(value, 2), severity="medium" if off else "info",
                values={"measure": "integrated", "target": self.options.target,
                        "true_peak": round(self.max_tp, 2) if self.max_tp > -math.inf else None},
            ))
        return out

    # -- state ---------------------------------------------------------------------
    def _extra_state(self) -> dict[str, Any]:
        return {
            "peak_hyst": self.peak_hyst.get_state(), "rate": self.rate, "zi": self.zi.tolist(),
            "pending": self.pending.tolist(), "pending_t": self.pending_t, "subs": list(self.subs),
            "hist_n": {str(k): v for k, v in self.hist_n.items()},
            "hist_e": {str(k): v for k, v in self.hist_e.items()},
            "first_t": self.first_t, "max_tp": None if self.max_tp == -math.inf else self.max_tp,
        }

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        self.peak_hyst.set_state(state.get("peak_hyst", {}))
        self.rate = state.get("rate")
        self.zi = np.array(state.get("zi", [[0.0, 0.0], [0.0, 0.0]]), dtype=np.float64)
        self.pending = np.array(state.get("pending", []), dtype=np.float64)
        self.pending_t = float(state.get("pending_t", 0.0))
        self.subs = deque(state.get("subs", []), maxlen=30)
        self.hist_n = {int(k): int(v) for k, v in state.get("hist_n", {}).items()}
        self.hist_e = {int(k): float(v) for k, v in state.get("hist_e", {}).items()}
        self.first_t = state.get("first_t")
        mt = state.get("max_tp")
        self.max_tp = -math.inf if mt is None else float(mt)

    @classmethod
    def examples(cls) -> list[Example]:
        return [
            Example("too loud", [(2.0, 0.05), (6.0, 0.9), (4.0, 0.05)],
                    [{"detector": "loudness", "measure": "true_peak", "start": 2.0, "end": 8.0},
                     {"detector": "loudness", "measure": "short_term"},
                     {"detector": "loudness", "measure": "integrated", "severity": "medium"}]),
        ]
