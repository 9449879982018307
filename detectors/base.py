"""Detector interface, in the shape of python-threatexchange's SignalType.

A detector declares its ``name`` (unique; the registry checks), the content
``kinds`` it reads, and ``examples()``: small inputs with the findings they must
produce, which drive the shared test base in tests/detectors/test_examples.py.

Two families share this base:
- text detectors (negative-list matcher, language standards) turn a string
  into ``Finding``s with character offsets;
- media detectors (black, freeze, silence, loudness, asr, ocr, fingerprint)
  are fed frames or audio in media-time order and emit ``Finding``s with
  start/end in seconds. Stateful ones keep JSON-serialisable state
  (``get_state``/``set_state``) so a stream job can checkpoint it with its
  committed offsets and resume after a crash with identical output.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, ClassVar

# content kinds a detector may declare
TEXT = "text"
VIDEO_FRAME = "video_frame"
AUDIO_CHUNK = "audio_chunk"
MEDIA_FILE = "media_file"


@dataclass
class Finding:
    detector: str
    start: float | None = None  # media seconds (media detectors)
    end: float | None = None
    char_start: int | None = None  # text offsets (text detectors), end exclusive
    char_end: int | None = None
    term: str | None = None
    matched: str | None = None
    text: str | None = None
    value: float | None = None
    category: str = "technical"
    severity: str = "medium"
    confidence: float = 1.0
    rules: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # detector's own values (list, entry_id, ...)
    frame: str | None = None  # blob ref of evidence frame
    box: list[list[float]] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"detector": self.detector, "start": self.start, "end": self.end}
        for k in ("char_start", "char_end", "term", "matched", "text", "value", "frame", "box"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        out.update(category=self.category, severity=self.severity, confidence=self.confidence)
        if self.rules:
            out["rules"] = self.rules
        out.update(self.values)
        return out


@dataclass
class Example:
    """An input and what the detector must find in it (drives shared tests)."""

    name: str
    input: Any
    expect: list[dict[str, Any]]  # subset of Finding.to_json() keys per expected finding
    options: dict[str, Any] = field(default_factory=dict)


class Detector(abc.ABC):
    name: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]]
    description: ClassVar[str] = ""

    @classmethod
    def examples(cls) -> list[Example]:
        return []

    @classmethod
    @abc.abstractmethod
    def run_example(cls, example: Example) -> list[Finding]:
        """Run one example input through a fresh detector (used by the shared test base)."""

    # Stateful detectors override these.
    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: dict[str, Any]) -> None:  # noqa: B027
        pass
