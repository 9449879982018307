"""Time hysteresis shared by the technical (QoS) checks.

A condition is sampled in media-time order. A segment counts once the
condition has held for ``min_on`` seconds (detection hysteresis) and closes
only after the condition has been false for ``min_off`` seconds (recovery
hysteresis); short interruptions inside that window do not split it. The
segment runs from the first true sample to the first false sample of the
recovery run, as ffmpeg's blackdetect/freezedetect/silencedetect report it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Segment:
    start: float
    end: float
    peak: float | None = None  # the most extreme value seen inside
    mean: float | None = None


class Hysteresis:
    def __init__(self, min_on: float, min_off: float, *, peak: str = "max") -> None:
        self.min_on = float(min_on)
        self.min_off = float(min_off)
        self._peak_fn = max if peak == "max" else min
        self.start: float | None = None
        self.active = False
        self.off_since: float | None = None
        self.peak: float | None = None
        self.vsum = 0.0
        self.vcount = 0

    # -- state ---------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "active": self.active,
            "off_since": self.off_since,
            "peak": self.peak,
            "vsum": self.vsum,
            "vcount": self.vcount,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.start = state.get("start")
        self.active = bool(state.get("active", False))
        self.off_since = state.get("off_since")
        self.peak = state.get("peak")
        self.vsum = float(state.get("vsum", 0.0))
        self.vcount = int(state.get("vcount", 0))

    def _reset(self) -> None:
        self.start = None
        self.active = False
        self.off_since = None
        self.peak = None
        self.vsum = 0.0
        self.vcount = 0

    def _segment(self, end: float) -> Segment:
        mean = self.vsum / self.vcount if self.vcount else None
        seg = Segment(float(self.start or 0.0), float(end), self.peak, mean)
        self._reset()
        return seg

    @property
    def is_open(self) -> bool:
        return self.active

    # -- feeding -------------------------------------------------------------
    def update(self, t: float, cond: bool, value: float | None = None, *, since: float | None = None) -> list[Segment]:
        """Feed one sample; returns the segments that closed. ``since`` backdates a new start."""
        out: list[Segment] = []
        if cond:
            if self.start is None:
                self.start = t if since is None else min(since, t)
            self.off_since = None
            if value is not None:
                self.peak = value if self.peak is None else self._peak_fn(self.peak, value)
                self.vsum += value
                self.vcount += 1
            if not self.active and t - self.start >= self.min_on:
                self.active = True
            return out
        if self.start is None:
            return out
        if not self.active:
            if t - self.start >= self.min_on:
                self.active = True  # held long enough up to this first false sample
            else:
                self._reset()
                return out
        if self.off_since is None:
            self.off_since = t
        if t - self.off_since >= self.min_off:
            out.append(self._segment(self.off_since))
        return out

    def finish(self, t_end: float) -> list[Segment]:
        if self.start is None:
            return []
        end = self.off_since if self.off_since is not None else t_end
        if self.active or end - self.start >= self.min_on:
            return [self._segment(end)]
        self._reset()
        return []
