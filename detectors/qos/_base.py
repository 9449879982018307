"""Common plumbing of the technical checks: options, hysteresis, state, examples."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import cv2
import numpy as np

from core.errors import BadInput
from detectors.base import Detector, Example, Finding
from detectors.qos._segments import Hysteresis, Segment


def make_options(cls: type, options: Any, label: str = "") -> Any:
    """Options from a dataclass instance, a dict (per-source settings) or None (defaults).

    ``label`` names the options in errors (default: the class name)."""
    label = label or cls.__name__
    if options is None:
        return cls()
    if isinstance(options, cls):
        return options
    if isinstance(options, dict):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(options) - names
        if unknown:
            raise BadInput(
                f"unknown {label} option(s): {', '.join(sorted(unknown))}",
                hint=f"known options: {', '.join(sorted(names))}",
            )
        return cls(**options)
    raise BadInput(f"options for {label} must be a mapping, got {type(options).__name__}")


def small_gray(frame_bgr: np.ndarray, width: int = 160) -> np.ndarray:
    """Grey (BT.601 luma) picture scaled down to ``width`` for cheap statistics."""
    if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise BadInput(f"expected a BGR frame (h, w, 3), got shape {frame_bgr.shape}")
    h, w = frame_bgr.shape[:2]
    if w > width:
        frame_bgr = cv2.resize(frame_bgr, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2GRAY)


class SegmentCheck(Detector):
    """A check that turns a sampled condition into segments with hysteresis."""

    Options: ClassVar[type]
    category: ClassVar[str] = "technical"
    severity: ClassVar[str] = "medium"
    peak: ClassVar[str] = "max"

    def __init__(self, options: Any = None) -> None:
        self.options = make_options(self.Options, options)
        self.hyst = Hysteresis(self.options.min_duration, self.options.recovery, peak=self.peak)
        self.last_t: float | None = None

    def _findings(self, segments: list[Segment]) -> list[Finding]:
        out = []
        for seg in segments:
            values: dict[str, Any] = {"duration": round(seg.end - seg.start, 3)}
            if seg.mean is not None:
                values["mean"] = round(seg.mean, 4)
            out.append(
                Finding(
                    detector=self.name,
                    start=round(seg.start, 3),
                    end=round(seg.end, 3),
                    value=None if seg.peak is None else round(seg.peak, 4),
                    category=self.category,
                    severity=self.severity,
                    values=values,
                )
            )
        return out

    def _check_order(self, t: float) -> None:
        if self.last_t is not None and t < self.last_t - 1e-6:
            raise BadInput(
                f"{self.name}: media time went backwards ({t:.3f} s after {self.last_t:.3f} s)",
                hint="feed samples in media-time order; start a new detector after a seek",
            )
        self.last_t = t

    def finish(self, t_end: float) -> list[Finding]:
        return self._findings(self.hyst.finish(t_end))

    def get_state(self) -> dict[str, Any]:
        return {"hyst": self.hyst.get_state(), "last_t": self.last_t, **self._extra_state()}

    def set_state(self, state: dict[str, Any]) -> None:
        self.hyst.set_state(state.get("hyst", {}))
        self.last_t = state.get("last_t")
        self._set_extra_state(state)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _set_extra_state(self, state: dict[str, Any]) -> None:
        pass


class FrameCheck(SegmentCheck):
    """Examples are lists of (t, grey level | "noise") frames, 64x36."""

    @staticmethod
    def synth_frame(spec: Any, t: float) -> np.ndarray:
        if spec == "noise":
            rng = np.random.default_rng(int(t * 1000))
            return rng.integers(0, 256, (36, 64, 3), dtype=np.uint8)
        return np.full((36, 64, 3), int(spec), dtype=np.uint8)

    @classmethod
    def run_example(cls, example: Example) -> list[Finding]:
        det = cls(example.options or None)
        out: list[Finding] = []
        t = 0.0
        for t, spec in example.input:
            out += det.feed_frame(cls.synth_frame(spec, t), t)  # type: ignore[attr-defined]
        return out + det.finish(t)


class AudioCheck(SegmentCheck):
    """Examples are lists of (seconds, amplitude) stretches of a 440 Hz tone at 16 kHz."""

    @classmethod
    def run_example(cls, example: Example) -> list[Finding]:
        det = cls(example.options or None)
        sr = 16000
        out: list[Finding] = []
        t0 = 0.0
        for seconds, amp in example.input:
            n = int(seconds * sr)
            x = (amp * np.sin(2 * np.pi * 440 * (t0 + np.arange(n) / sr))).astype(np.float32)
            out += det.feed_audio(x, sr, t0)  # type: ignore[attr-defined]
            t0 += seconds
        return out + det.finish(t0)
