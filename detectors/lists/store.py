"""The narrow list-store interface (Hasher-Matcher-Actioner bank style) and shared rules.

Named lists hold entries; nothing is ever deleted: disabling an entry keeps it
(a tombstone) and every change bumps the list's version with who, when and
why. ``revision()`` is a store-wide counter that grows with every change, so
a running matcher notices a saved change with one cheap query.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from core.errors import BadInput
from core.events import assume_utc
from detectors.lists.types import (
    ENTRY_FIELDS,
    AllowEntry,
    Entry,
    EntryIn,
    ImportReport,
    ListInfo,
    Snapshot,
    VersionInfo,
    check_category,
    check_severity,
)

Progress = Callable[[int, int], None]  # (done, total)
BATCH = 5000
LIST_FIELDS = ("enabled", "options", "category", "severity", "description")


class ListStore(abc.ABC):
    """Named, versioned, audited negative lists."""

    # -- lists ------------------------------------------------------------------
    @abc.abstractmethod
    def lists(self) -> list[ListInfo]: ...

    @abc.abstractmethod
    def get_list(self, name: str) -> ListInfo:
        """The list called ``name`` (raises NotFound)."""

    @abc.abstractmethod
    def get_list_by_id(self, list_id: int) -> ListInfo: ...

    @abc.abstractmethod
    def create_list(
        self, name: str, kind: str, category: str, severity: str = "medium", *,
        options: dict[str, Any] | None = None, description: str = "", user: str = "", reason: str = "",
    ) -> ListInfo:  # fmt: skip
        """A new list at version 1 (raises Conflict when the name is taken)."""

    @abc.abstractmethod
    def update_list(self, name: str, changes: dict[str, Any], *, user: str = "", reason: str = "") -> ListInfo:
        """Change enabled/options/category/severity/description; bumps the version."""

    def ensure_list(
        self, name: str, kind: str, category: str | None = None, severity: str | None = None, *,
        user: str = "", reason: str = "",
    ) -> ListInfo:  # fmt: skip
        from core.errors import Conflict, NotFound

        try:
            info = self.get_list(name)
        except NotFound:
            return self.create_list(
                name, kind, category or "uncategorized", severity or "medium", user=user, reason=reason
            )
        if info.kind != kind:
            raise Conflict(
                f"list {name!r} exists with kind {info.kind!r}, not {kind!r}",
                hint="use the list's own kind or choose another list name",
            )
        return info

    # -- entries ----------------------------------------------------------------
    @abc.abstractmethod
    def upsert_entries(
        self, name: str, entries: Sequence[EntryIn], *, user: str = "", reason: str = "",
        progress: Progress | None = None,
    ) -> ImportReport:  # fmt: skip
        """Add new terms, update changed ones (matched by term); one version for the batch."""

    @abc.abstractmethod
    def entries(
        self, name: str, *, offset: int = 0, limit: int | None = 100, q: str | None = None,
        include_disabled: bool = True,
    ) -> tuple[list[Entry], int]:  # fmt: skip
        """A page of entries (by id) and the total count."""

    @abc.abstractmethod
    def get_entry(self, entry_id: int) -> Entry: ...

    @abc.abstractmethod
    def update_entry(self, entry_id: int, changes: dict[str, Any], *, user: str = "", reason: str = "") -> Entry:
        """Change an entry's fields; ``enabled=False`` makes it a tombstone."""

    def find_entry(self, name: str, term: str) -> Entry:
        from core.errors import NotFound

        page, _ = self.entries(name, q=term, limit=None)
        for e in page:
            if e.term == term:
                return e
        raise NotFound(f"list {name!r} has no entry {term!r}", hint=f"see: qinglang lists show {name}")

    def disable_entry(self, name: str, term: str, *, user: str = "", reason: str = "") -> Entry:
        entry = self.find_entry(name, term)
        return self.update_entry(entry.id, {"enabled": False}, user=user, reason=reason)

    # -- allow-list ---------------------------------------------------------------
    @abc.abstractmethod
    def add_allow(
        self, phrase: str, list_name: str | None = None, *, note: str = "", user: str = "", reason: str = ""
    ) -> AllowEntry:
        """An allowed phrase for one list, or for all lists when ``list_name`` is None."""

    @abc.abstractmethod
    def allows(self) -> list[AllowEntry]: ...

    @abc.abstractmethod
    def set_allow_enabled(self, allow_id: int, enabled: bool, *, user: str = "", reason: str = "") -> AllowEntry: ...

    # -- history and snapshots ------------------------------------------------------
    @abc.abstractmethod
    def versions(self, name: str | None) -> list[VersionInfo]:
        """The audit trail of one list (``None``: global allow-list changes), newest first."""

    @abc.abstractmethod
    def revision(self) -> int:
        """A counter that grows with every change anywhere in the store."""

    @abc.abstractmethod
    def snapshot(self) -> Snapshot:
        """Enabled entries and allowed phrases of every list, read consistently."""


# -- shared rules ---------------------------------------------------------------------
def clean_list_changes(changes: dict[str, Any]) -> dict[str, Any]:
    from detectors.matcher.normalize import Options

    unknown = sorted(set(changes) - set(LIST_FIELDS))
    if unknown:
        raise BadInput(f"cannot change list field(s): {', '.join(unknown)}", hint=f"use: {', '.join(LIST_FIELDS)}")
    out = dict(changes)
    if "options" in out:
        out["options"] = Options.from_dict(out["options"]).to_dict()
    if "category" in out:
        out["category"] = check_category(out["category"])
    if "severity" in out:
        out["severity"] = check_severity(out["severity"])
    if "enabled" in out:
        out["enabled"] = bool(out["enabled"])
    return out


def clean_entry_changes(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(ENTRY_FIELDS))
    if unknown:
        raise BadInput(f"cannot change entry field(s): {', '.join(unknown)}", hint=f"use: {', '.join(ENTRY_FIELDS)}")
    out = dict(changes)
    if out.get("category") is not None:
        out["category"] = check_category(out["category"])
    if out.get("severity") is not None:
        out["severity"] = check_severity(out["severity"])
    for k in ("valid_from", "valid_until"):
        if isinstance(out.get(k), str):
            out[k] = parse_when(out[k])
    return out


def parse_when(value: str) -> datetime | None:

    value = value.strip()
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadInput(f"invalid date {value!r}", hint="use ISO-8601, e.g. 2025-01-31 or 2025-01-31T08:00:00+08:00") from exc
    return assume_utc(dt)


def entry_values(e: EntryIn | Entry) -> dict[str, Any]:
    return {k: getattr(e, k) for k in ENTRY_FIELDS}


def jsonable(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` with datetimes as ISO-8601 strings (for a version's JSON details)."""
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in d.items()}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return assume_utc(a) == assume_utc(b)
    return a == b


def diff_entries(
    existing: dict[str, Entry], incoming: Sequence[EntryIn]
) -> tuple[list[EntryIn], list[tuple[Entry, dict[str, Any]]], int]:
    """(new entries, (entry, changes) to update, number unchanged)."""
    new: list[EntryIn] = []
    changed: list[tuple[Entry, dict[str, Any]]] = []
    unchanged = 0
    for item in incoming:
        cur = existing.get(item.term)
        if cur is None:
            new.append(item)
            continue
        want = entry_values(item)
        have = entry_values(cur)
        delta = {k: v for k, v in want.items() if not _same(v, have[k])}
        if delta:
            changed.append((cur, delta))
        else:
            unchanged += 1
    return new, changed, unchanged


def check_term(term: str) -> str:
    term = (term or "").strip()
    if not term:
        raise BadInput("an entry's term is empty", hint="give the word or phrase to match")
    if len(term) > 500:
        raise BadInput("an entry's term is longer than 500 characters", hint="shorten it")
    return term


def __getattr__(name: str) -> Any:
    """``from detectors.lists.store import SqlListStore`` works too (implementations live beside)."""
    if name == "SqlListStore":
        from detectors.lists.sql import SqlListStore

        return SqlListStore
    if name == "MemoryListStore":
        from detectors.lists.memory import MemoryListStore

        return MemoryListStore
    raise AttributeError(name)
