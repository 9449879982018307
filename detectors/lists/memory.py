"""MemoryListStore: the list store in dictionaries (tests, embedded tools)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from typing import Any

from core.errors import BadInput, Conflict, NotFound
from core.events import utcnow
from detectors.lists.store import (
    ListStore,
    Progress,
    check_term,
    clean_entry_changes,
    clean_list_changes,
    diff_entries,
    entry_values,
    jsonable,
)
from detectors.lists.types import (
    AllowEntry,
    Entry,
    EntryIn,
    ImportReport,
    ListInfo,
    Snapshot,
    VersionInfo,
    check_category,
    check_kind,
    check_name,
    check_severity,
)


class MemoryListStore(ListStore):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._lists: dict[int, ListInfo] = {}
        self._entries: dict[int, Entry] = {}
        self._by_list: dict[int, dict[str, int]] = {}
        self._allows: dict[int, AllowEntry] = {}
        self._versions: list[VersionInfo] = []
        self._ids = {"list": 0, "entry": 0, "allow": 0}

    def _next(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _bump(self, info: ListInfo | None, action: str, user: str, reason: str, detail: dict[str, Any]) -> int:
        now = utcnow()
        if info is not None:
            info.version += 1
            info.updated_at = now
        self._versions.append(
            VersionInfo(
                len(self._versions) + 1, info.id if info else None, info.version if info else 0,
                user or "", reason or "", action, detail, now,
            )  # fmt: skip
        )
        return info.version if info else 0

    def _info(self, info: ListInfo) -> ListInfo:
        out = copy.deepcopy(info)
        out.entry_count = len(self._by_list.get(info.id, {}))
        return out

    # -- lists --------------------------------------------------------------------
    def lists(self) -> list[ListInfo]:
        with self._lock:
            return [self._info(i) for i in sorted(self._lists.values(), key=lambda i: i.name)]

    def _find(self, name: str) -> ListInfo:
        for info in self._lists.values():
            if info.name == name:
                return info
        raise NotFound(f"no list named {name!r}", hint="see the lists with: qinglang lists ls")

    def get_list(self, name: str) -> ListInfo:
        with self._lock:
            return self._info(self._find(name))

    def get_list_by_id(self, list_id: int) -> ListInfo:
        with self._lock:
            if list_id not in self._lists:
                raise NotFound(f"no list with id {list_id}", hint="see the lists with: qinglang lists ls")
            return self._info(self._lists[list_id])

    def create_list(self, name, kind, category, severity="medium", *, options=None, description="", user="", reason=""):  # type: ignore[no-untyped-def]
        from detectors.matcher.normalize import Options

        name, kind = check_name(name), check_kind(kind)
        category, severity = check_category(category), check_severity(severity)
        opts = Options.from_dict(options).to_dict()
        with self._lock:
            if any(i.name == name for i in self._lists.values()):
                raise Conflict(f"a list named {name!r} already exists", hint="choose another name")
            now = utcnow()
            info = ListInfo(self._next("list"), name, kind, category, severity, True, opts, 0, description,
                            created_at=now, updated_at=now)  # fmt: skip
            self._lists[info.id] = info
            self._by_list[info.id] = {}
            self._bump(info, "create", user, reason, {"kind": kind, "category": category, "severity": severity})
            return self._info(info)

    def update_list(self, name: str, changes: dict[str, Any], *, user: str = "", reason: str = "") -> ListInfo:
        changes = clean_list_changes(changes)
        with self._lock:
            info = self._find(name)
            delta = {k: v for k, v in changes.items() if getattr(info, k) != v}
            if delta:
                for k, v in delta.items():
                    setattr(info, k, v)
                self._bump(info, "update", user, reason, {"changes": delta})
            return self._info(info)

    # -- entries --------------------------------------------------------------------
    def upsert_entries(self, name: str, entries: Sequence[EntryIn], *, user: str = "", reason: str = "",
                       progress: Progress | None = None) -> ImportReport:  # fmt: skip
        with self._lock:
            info = self._find(name)
            by_term = self._by_list[info.id]
            existing = {t: self._entries[i] for t, i in by_term.items()}
            new, changed, unchanged = diff_entries(existing, entries)
            report = ImportReport(info.name, len(new), len(changed), unchanged)
            if new or changed:
                version = info.version + 1
                for n, item in enumerate(new, 1):
                    term = check_term(item.term)
                    e = Entry(self._next("entry"), info.id, term, version=version, **copy.deepcopy(entry_values(item)))
                    self._entries[e.id] = e
                    by_term[term] = e.id
                    if progress and n % 5000 == 0:
                        progress(n, len(new) + len(changed))
                for cur, delta in changed:
                    for k, v in delta.items():
                        setattr(cur, k, v)
                    cur.version = version
                self._bump(info, "import", user, reason, {"added": len(new), "updated": len(changed)})
            if progress:
                progress(len(new) + len(changed), len(new) + len(changed))
            report.version = info.version
            return report

    def entries(self, name, *, offset=0, limit=100, q=None, include_disabled=True):  # type: ignore[no-untyped-def]
        with self._lock:
            info = self._find(name)
            rows = [self._entries[i] for i in sorted(self._by_list[info.id].values())]
            if q:
                rows = [e for e in rows if q in e.term]
            if not include_disabled:
                rows = [e for e in rows if e.enabled]
            total = len(rows)
            page = rows[offset:] if limit is None else rows[offset : offset + limit]
            return [copy.deepcopy(e) for e in page], total

    def get_entry(self, entry_id: int) -> Entry:
        with self._lock:
            if entry_id not in self._entries:
                raise NotFound(f"no entry with id {entry_id}", hint="list the entries with: qinglang lists show NAME")
            return copy.deepcopy(self._entries[entry_id])

    def update_entry(self, entry_id: int, changes: dict[str, Any], *, user: str = "", reason: str = "") -> Entry:
        changes = clean_entry_changes(changes)
        with self._lock:
            if entry_id not in self._entries:
                raise NotFound(f"no entry with id {entry_id}", hint="list the entries with: qinglang lists show NAME")
            e = self._entries[entry_id]
            delta = {k: v for k, v in changes.items() if getattr(e, k) != v}
            if delta:
                for k, v in delta.items():
                    setattr(e, k, v)
                info = self._lists[e.list_id]
                e.version = info.version + 1
                action = "disable-entry" if delta.get("enabled") is False else "update-entry"
                self._bump(info, action, user, reason, {"entry_id": e.id, "term": e.term, "changes": jsonable(delta)})
            return copy.deepcopy(e)

    # -- allow-list -------------------------------------------------------------------
    def add_allow(self, phrase, list_name=None, *, note="", user="", reason=""):  # type: ignore[no-untyped-def]
        phrase = (phrase or "").strip()
        if not phrase:
            raise BadInput("the allowed phrase is empty", hint="give the longer phrase to allow")
        with self._lock:
            info = self._find(list_name) if list_name else None
            a = AllowEntry(self._next("allow"), phrase, info.id if info else None, True, note)
            self._allows[a.id] = a
            self._bump(info, "allow", user, reason, {"allow_id": a.id, "phrase": phrase})
            return copy.deepcopy(a)

    def allows(self) -> list[AllowEntry]:
        with self._lock:
            return [copy.deepcopy(a) for a in self._allows.values()]

    def set_allow_enabled(self, allow_id: int, enabled: bool, *, user: str = "", reason: str = "") -> AllowEntry:
        with self._lock:
            if allow_id not in self._allows:
                raise NotFound(f"no allowed phrase with id {allow_id}", hint="see: qinglang lists allow --help")
            a = self._allows[allow_id]
            if a.enabled != enabled:
                a.enabled = enabled
                info = self._lists.get(a.list_id) if a.list_id else None
                self._bump(info, "allow-enable" if enabled else "allow-disable", user, reason, {"allow_id": a.id})
            return copy.deepcopy(a)

    # -- history and snapshots ------------------------------------------------------------
    def versions(self, name: str | None) -> list[VersionInfo]:
        with self._lock:
            lid = self._find(name).id if name else None
            return [copy.deepcopy(v) for v in reversed(self._versions) if v.list_id == lid]

    def revision(self) -> int:
        return len(self._versions)

    def snapshot(self) -> Snapshot:
        with self._lock:
            lists = [self._info(i) for i in self._lists.values()]
            entries: dict[int, list[Entry]] = {i.id: [] for i in lists}
            for e in self._entries.values():
                if e.enabled:
                    entries[e.list_id].append(copy.copy(e))
            allows = [copy.copy(a) for a in self._allows.values() if a.enabled]
            return Snapshot(len(self._versions), lists, entries, allows, utcnow())
