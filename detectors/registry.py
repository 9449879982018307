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
    return reg
