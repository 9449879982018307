"""Explicit registration of detectors; names must be unique."""

from __future__ import annotations

from detectors.base import Detector


class DuplicateDetector(ValueError):
    pass


class Registry:
    def __init__(self) -> None:
        self._by_name: dict[str, type[Detector]] = {}

    def register(self, cls: type[Detector]) -> type[Detector]:
        name = getattr(cls, "name", None)
        if not name:
            raise ValueError(f"{cls.__qualname__} has no name")
        if name in self._by_name and self._by_name[name] is not cls:
            raise DuplicateDetector(f"detector name {name!r} is registered twice")
        self._by_name[name] = cls
        return cls

    def get(self, name: str) -> type[Detector]:
        return self._by_name[name]

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def all(self) -> list[type[Detector]]:
        return [self._by_name[n] for n in self.names()]


def default_registry() -> Registry:
    """Every detector shipped with Qinglang, registered one by one.

    Heavy optional detectors (asr, ocr) import their engines lazily, so
    registering them costs nothing when the extra is missing.
    """
    reg = Registry()
    # Each detector module adds one line here.
    from detectors.qos.black import BlackDetector; reg.register(BlackDetector)  # noqa: E702, I001
    from detectors.qos.freeze import FreezeDetector; reg.register(FreezeDetector)  # noqa: E702, I001
    from detectors.qos.silence import SilenceDetector; reg.register(SilenceDetector)  # noqa: E702, I001
    from detectors.qos.loudness import LoudnessDetector; reg.register(LoudnessDetector)  # noqa: E702, I001
    from detectors.qos.signal_loss import SignalLossDetector; reg.register(SignalLossDetector)  # noqa: E702, I001
    from detectors.qos.bars import ColourBarsDetector; reg.register(ColourBarsDetector)  # noqa: E702, I001
    from detectors.asr import AsrDetector; reg.register(AsrDetector)  # noqa: E702, I001
    from detectors.ocr import OcrDetector; reg.register(OcrDetector)  # noqa: E702, I001
    from detectors.fingerprint.detector import FingerprintDetector; reg.register(FingerprintDetector)  # noqa: E702, I001
    from detectors.language import LanguageDetector; reg.register(LanguageDetector)  # noqa: E702, I001
    from detectors.keyword import KeywordDetector; reg.register(KeywordDetector)  # noqa: E702, I001
    return reg
