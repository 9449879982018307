"""Colour bars / test pattern: the picture is a row of flat, saturated vertical bars.

The upper band of the frame is reduced to 64 columns; a bars picture has
columns that are flat from top to bottom, grouped into 6-10 bars of clearly
different colours, most of them saturated (SMPTE, EBU 75 %/100 %, HD bars).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from detectors.base import VIDEO_FRAME, Example, Finding
from detectors.qos._base import FrameCheck


@dataclass
class BarsOptions:
    min_bars: int = 6
    max_bars: int = 10
    max_column_std: float = 12.0  # grey levels of variation down a bar
    min_duration: float = 2.0
    recovery: float = 1.0


def bar_count(frame_bgr: np.ndarray, max_std: float = 12.0) -> int:
    """Number of saturated flat vertical bars in the upper 5-55 % of the frame (0 if not bars)."""
    h = frame_bgr.shape[0]
    band = frame_bgr[int(h * 0.05) : max(int(h * 0.55), int(h * 0.05) + 1)]
    band = cv2.resize(band, (64, 16), interpolation=cv2.INTER_AREA).astype(np.float32)
    if float(band.std(axis=0).mean()) > max_std:
        return 0
    cols = band.mean(axis=0)  # (64, 3)
    step = np.abs(np.diff(cols, axis=0)).sum(axis=1)
    edges = [0] + [i + 1 for i in np.flatnonzero(step > 40.0).tolist()] + [64]
    widths = np.diff(edges)
    if widths[widths < 3].sum() > 14:  # bars are wide (blended edges aside); slivers mean another picture
        return 0
    bars = [cols[a:b].mean(axis=0) for a, b in zip(edges[:-1], edges[1:], strict=True) if b - a >= 3]
    saturated = sum(1 for c in bars if float(c.max() - c.min()) > 60.0)
    return len(bars) if saturated >= 3 else 0


class ColourBarsDetector(FrameCheck):
    name: ClassVar[str] = "colour_bars"
    kinds: ClassVar[tuple[str, ...]] = (VIDEO_FRAME,)
    description: ClassVar[str] = "colour bars or test pattern instead of programme"
    Options: ClassVar[type] = BarsOptions

    def feed_frame(self, frame_bgr: np.ndarray, t: float) -> list[Finding]:
        self._check_order(t)
        n = bar_count(frame_bgr, self.options.max_column_std)
        hit = self.options.min_bars <= n <= self.options.max_bars
        return self._findings(self.hyst.update(t, hit, float(n) if hit else None))

    @staticmethod
    def synth_frame(spec, t):  # type: ignore[no-untyped-def]
        if spec == "bars":
            colours = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0),
                       (192, 0, 192), (0, 0, 192), (192, 0, 0)]
            return np.repeat(np.array(colours, dtype=np.uint8)[None, :, :], 36, axis=0).repeat(10, axis=1)
        return FrameCheck.synth_frame(spec, t)

    @classmethod
    def examples(cls) -> list[Example]:
        frames = [(0.0, "noise"), (1.0, "bars"), (2.0, "bars"), (3.0, "bars"), (4.0, "noise"), (5.0, "noise"),
                  (6.0, 0)]
        return [Example("bars", frames, [{"detector": "colour_bars", "start": 1.0, "end": 4.0}])]
