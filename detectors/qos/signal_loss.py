"""Loss of signal: no frames or audio packets for ``max_gap`` seconds of media time.

Fed with the media time of every frame and audio chunk (``feed_frame``,
``feed_audio``) or of raw packets (``feed_packet``). A gap longer than
``max_gap`` opens a loss from the last packet seen to the next one; another
gap within ``recovery`` seconds of the signal coming back extends the same loss.
Live jobs call ``tick(now_media_t)`` on a timer so a dead source is reported
while it is still dead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from detectors.base import AUDIO_CHUNK, VIDEO_FRAME, Detector, Example, Finding
from detectors.qos._base import make_options


@dataclass
class SignalLossOptions:
    max_gap: float = 5.0  # seconds without packets that count as a loss
    recovery: float = 2.0  # signal must stay back this long before the loss closes


class SignalLossDetector(Detector):
    name: ClassVar[str] = "signal_loss"
    kinds: ClassVar[tuple[str, ...]] = (VIDEO_FRAME, AUDIO_CHUNK)
    description: ClassVar[str] = "no frames or audio packets for longer than the allowed gap"

    def __init__(self, options: Any = None) -> None:
        self.options = make_options(SignalLossOptions, options)
        self.last_t: float | None = None
        self.loss_start: float | None = None  # open loss (last packet before the gap)
        self.back_at: float | None = None  # first packet after the gap

    def _finding(self, start: float, end: float, ongoing: bool = False) -> Finding:
        values: dict[str, Any] = {"duration": round(end - start, 3)}
        if ongoing:
            values["ongoing"] = True
        return Finding(detector=self.name, start=round(start, 3), end=round(end, 3),
                       value=round(end - start, 3), severity="high", values=values)

    def feed_packet(self, t: float) -> list[Finding]:
        out: list[Finding] = []
        if self.last_t is not None and t < self.last_t:
            return out  # late packet of another stream (audio vs video): already covered
        if self.last_t is not None and t - self.last_t > self.options.max_gap:
            if self.loss_start is None:
                self.loss_start = self.last_t
            self.back_at = t
        elif self.loss_start is not None and self.back_at is not None and t - self.back_at >= self.options.recovery:
            out.append(self._finding(self.loss_start, self.back_at))
            self.loss_start = self.back_at = None
        self.last_t = t
        return out

    def feed_frame(self, frame_bgr: np.ndarray, t: float) -> list[Finding]:
        return self.feed_packet(t)

    def feed_audio(self, pcm: np.ndarray, sample_rate: int, t0: float) -> list[Finding]:
        out = self.feed_packet(t0)
        if sample_rate > 0 and len(pcm):
            out += self.feed_packet(t0 + len(pcm) / sample_rate)
        return out

    def tick(self, now: float) -> list[Finding]:
        """A loss still going on at media time ``now`` (not closed; reported again later)."""
        if self.last_t is not None and now - self.last_t > self.options.max_gap:
            return [self._finding(self.loss_start if self.loss_start is not None else self.last_t, now, True)]
        return []

    def finish(self, t_end: float) -> list[Finding]:
        out: list[Finding] = []
        if self.loss_start is not None and self.back_at is not None:
            out.append(self._finding(self.loss_start, self.back_at))
            self.loss_start = self.back_at = None
        if self.last_t is not None and t_end - self.last_t > self.options.max_gap:
            out.append(self._finding(self.last_t, t_end))
        return out

    def get_state(self) -> dict[str, Any]:
        return {"last_t": self.last_t, "loss_start": self.loss_start, "back_at": self.back_at}

    def set_state(self, state: dict[str, Any]) -> None:
        self.last_t = state.get("last_t")
        self.loss_start = state.get("loss_start")
        self.back_at = state.get("back_at")

    @classmethod
    def examples(cls) -> list[Example]:
        times = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0, 13.0]
        return [Example("gap", times, [{"detector": "signal_loss", "start": 2.0, "end": 10.0}])]

    @classmethod
    def run_example(cls, example: Example) -> list[Finding]:
        det = cls(example.options or None)
        out: list[Finding] = []
        for t in example.input:
            out += det.feed_packet(t)
        return out + det.finish(example.input[-1])
