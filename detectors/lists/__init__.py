"""Negative lists (负面清单): named, versioned, audited lists of terms and their stores.

    from detectors.lists import SqlListStore, MemoryListStore, LiveMatcher
"""

from __future__ import annotations

from typing import Any

__all__ = ["ListStore", "SqlListStore", "MemoryListStore", "LiveMatcher"]


def __getattr__(name: str) -> Any:
    if name == "ListStore":
        from detectors.lists.store import ListStore

        return ListStore
    if name == "SqlListStore":
        from detectors.lists.sql import SqlListStore

        return SqlListStore
    if name == "MemoryListStore":
        from detectors.lists.memory import MemoryListStore

        return MemoryListStore
    if name == "LiveMatcher":
        from detectors.lists.live import LiveMatcher

        return LiveMatcher
    raise AttributeError(name)
