"""Black picture: most pixels darker than a threshold, for a minimum duration.

Thresholds follow ffmpeg's blackdetect: a pixel is black when its luma is
below ``pixel_threshold`` (fraction of full scale), a picture is black when at
least ``picture_ratio`` of its pixels are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from detectors.base import VIDEO_FRAME, Example, Finding
from detectors.qos._base import FrameCheck, small_gray


@dataclass
class BlackOptions:
    pixel_threshold: float = 0.10  # luma below this fraction of 255 is black
    picture_ratio: float = 0.98  # share of black pixels that makes a black picture
    min_duration: float = 2.0  # seconds black before it counts
    recovery: float = 0.0  # seconds of picture before the segment closes


class BlackDetector(FrameCheck):
    name: ClassVar[str] = "black"
    kinds: ClassVar[tuple[str, ...]] = (VIDEO_FRAME,)
    description: ClassVar[str] = "black picture for longer than the minimum duration"
    Options: ClassVar[type] = BlackOptions

    def feed_frame(self, frame_bgr: np.ndarray, t: float) -> list[Finding]:
        self._check_order(t)
        gray = small_gray(frame_bgr)
        ratio = float(np.count_nonzero(gray < self.options.pixel_threshold * 255.0)) / gray.size
        return self._findings(self.hyst.update(t, ratio >= self.options.picture_ratio, ratio))

    @classmethod
    def examples(cls) -> list[Example]:
        frames = [(i * 0.5, "noise") for i in range(4)] + [(2 + i * 0.5, 0) for i in range(6)]
        frames += [(5 + i * 0.5, "noise") for i in range(4)]
        short = [(0.0, "noise"), (0.5, 0), (1.0, 0), (1.5, "noise"), (2.0, "noise")]
        return [
            Example("black stretch", frames, [{"detector": "black", "start": 2.0, "end": 5.0}]),
            Example("too short", short, []),
        ]
