"""Frozen picture: successive frames stay within a noise level of a reference frame.

As ffmpeg's freezedetect: the mean absolute difference to the first frame of
the still run (fraction of full scale) below ``noise`` means frozen; the
segment starts at that reference frame and ends at the first frame that moves.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, ClassVar

import cv2
import numpy as np

from detectors.base import VIDEO_FRAME, Example, Finding
from detectors.qos._base import FrameCheck, small_gray


@dataclass
class FreezeOptions:
    noise: float = 0.001  # mean abs difference (fraction of 255) below which frames are equal (-60 dB)
    min_duration: float = 2.0
    recovery: float = 0.0
    width: int = 160  # frames are compared at this width


class FreezeDetector(FrameCheck):
    name: ClassVar[str] = "freeze"
    kinds: ClassVar[tuple[str, ...]] = (VIDEO_FRAME,)
    description: ClassVar[str] = "frozen picture for longer than the minimum duration"
    Options: ClassVar[type] = FreezeOptions
    peak: ClassVar[str] = "min"

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.ref: np.ndarray | None = None
        self.ref_t: float | None = None

    def feed_frame(self, frame_bgr: np.ndarray, t: float) -> list[Finding]:
        self._check_order(t)
        gray = small_gray(frame_bgr, self.options.width)
        if self.ref is None or self.ref.shape != gray.shape:
            self.ref, self.ref_t = gray, t
            return self._findings(self.hyst.update(t, False))
        mafd = float(cv2.absdiff(gray, self.ref).mean()) / 255.0
        if mafd < self.options.noise:
            return self._findings(self.hyst.update(t, True, mafd, since=self.ref_t))
        self.ref, self.ref_t = gray, t
        return self._findings(self.hyst.update(t, False))

    def _extra_state(self) -> dict[str, Any]:
        if self.ref is None:
            return {"ref": None}
        return {
            "ref": base64.b64encode(self.ref.tobytes()).decode("ascii"),
            "ref_shape": list(self.ref.shape),
            "ref_t": self.ref_t,
        }

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        if state.get("ref") is None:
            self.ref, self.ref_t = None, None
            return
        buf = base64.b64decode(state["ref"])
        self.ref = np.frombuffer(buf, dtype=np.uint8).reshape(state["ref_shape"]).copy()
        self.ref_t = state.get("ref_t")

    @classmethod
    def examples(cls) -> list[Example]:
        frames = [(i * 0.5, "noise") for i in range(4)] + [(2 + i * 0.5, 128) for i in range(7)]
        frames += [(5.5 + i * 0.5, "noise") for i in range(3)]
        return [Example("frozen grey", frames, [{"detector": "freeze", "start": 2.0, "end": 5.5}])]
