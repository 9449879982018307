"""SqlListStore: the list store on core.db.Database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import Database
from core.errors import BadInput, Conflict, NotFound
from core.events import utcnow
from detectors.lists.models import NegAllow, NegEntry, NegList, NegVersion
from detectors.lists.store import (
    BATCH,
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

_ENTRY_COLS = (
    "id", "list_id", "term", "category", "severity", "tags", "valid_from", "valid_until",
    "source", "note", "enabled", "pinyin", "version", "data",
)  # fmt: skip


def _entry(row: Any) -> Entry:
    return Entry(**{c: getattr(row, c) for c in _ENTRY_COLS})


def _allow(row: NegAllow) -> AllowEntry:
    return AllowEntry(row.id, row.phrase, row.list_id, row.enabled, row.note)


class SqlListStore(ListStore):
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- helpers ----------------------------------------------------------------------
    def _info(self, s: Session, row: NegList) -> ListInfo:
        count = s.scalar(select(func.count()).select_from(NegEntry).where(NegEntry.list_id == row.id)) or 0
        return ListInfo(
            row.id, row.name, row.kind, row.category, row.severity, row.enabled, dict(row.options or {}),
            row.version, row.description, count, row.created_at, row.updated_at,
        )  # fmt: skip

    def _row(self, s: Session, name: str, lock: bool = False) -> NegList:
        stmt = select(NegList).where(NegList.name == name)
        if lock and not self.db.url.startswith("sqlite"):
            stmt = stmt.with_for_update()
        row = s.scalars(stmt).first()
        if row is None:
            raise NotFound(f"no list named {name!r}", hint="see the lists with: qinglang lists ls")
        return row

    @staticmethod
    def _bump(s: Session, row: NegList | None, action: str, user: str, reason: str, detail: dict[str, Any]) -> int:
        now = utcnow()
        if row is not None:
            row.version += 1
            row.updated_at = now
        version = row.version if row is not None else 0
        s.add(NegVersion(list_id=row.id if row is not None else None, version=version, user=user or "",
                         reason=reason or "", action=action, detail=detail, created_at=now))  # fmt: skip
        return version

    # -- lists --------------------------------------------------------------------------
    def lists(self) -> list[ListInfo]:
        with self.db.session() as s:
            counts = dict(s.execute(select(NegEntry.list_id, func.count()).group_by(NegEntry.list_id)).all())
            out = []
            for row in s.scalars(select(NegList).order_by(NegList.name)):
                info = ListInfo(row.id, row.name, row.kind, row.category, row.severity, row.enabled,
                                dict(row.options or {}), row.version, row.description, counts.get(row.id, 0),
                                row.created_at, row.updated_at)  # fmt: skip
                out.append(info)
            return out

    def get_list(self, name: str) -> ListInfo:
        with self.db.session() as s:
            return self._info(s, self._row(s, name))

    def get_list_by_id(self, list_id: int) -> ListInfo:
        with self.db.session() as s:
            row = s.get(NegList, list_id)
            if row is None:
                raise NotFound(f"no list with id {list_id}", hint="see the lists with: qinglang lists ls")
            return self._info(s, row)

    def create_list(self, name, kind, category, severity="medium", *, options=None, description="", user="", reason=""):  # type: ignore[no-untyped-def]
        from detectors.matcher.normalize import Options

        name, kind = check_name(name), check_kind(kind)
        category, severity = check_category(category), check_severity(severity)
        opts = Options.from_dict(options).to_dict()
        try:
            with self.db.session() as s:
                now = utcnow()
                row = NegList(name=name, kind=kind, category=category, severity=severity, enabled=True,
                              options=opts, description=description or "", version=0,
                              created_at=now, updated_at=now)  # fmt: skip
                s.add(row)
                s.flush()
                self._bump(s, row, "create", user, reason, {"kind": kind, "category": category, "severity": severity})
                s.flush()
                return self._info(s, row)
        except IntegrityError as exc:
            raise Conflict(f"a list named {name!r} already exists", hint="choose another name") from exc

    def update_list(self, name: str, changes: dict[str, Any], *, user: str = "", reason: str = "") -> ListInfo:
        changes = clean_list_changes(changes)
        with self.db.session() as s:
            row = self._row(s, name, lock=True)
            delta = {k: v for k, v in changes.items() if getattr(row, k) != v}
            if delta:
                for k, v in delta.items():
                    setattr(row, k, v)
                self._bump(s, row, "update", user, reason, {"changes": delta})
                s.flush()
            return self._info(s, row)

    # -- entries --------------------------------------------------------------------------
    def upsert_entries(self, name: str, entries: Sequence[EntryIn], *, user: str = "", reason: str = "",
                       progress: Progress | None = None) -> ImportReport:  # fmt: skip
        with self.db.session() as s:
            row = self._row(s, name, lock=True)
            existing = {
                r.term: _entry(r)
                for r in s.execute(select(*[getattr(NegEntry, c) for c in _ENTRY_COLS]).where(NegEntry.list_id == row.id))
            }
            new, changed, unchanged = diff_entries(existing, entries)
            report = ImportReport(row.name, len(new), len(changed), unchanged)
            total = len(new) + len(changed)
            if total:
                version = row.version + 1
                now = utcnow()
                done = 0
                for i in range(0, len(new), BATCH):
                    batch = []
                    for item in new[i : i + BATCH]:
                        values = entry_values(item)
                        values.update(term=check_term(item.term), list_id=row.id, version=version,
                                      created_at=now, updated_at=now)  # fmt: skip
                        batch.append(values)
                    s.execute(insert(NegEntry), batch)
                    done += len(batch)
                    if progress:
                        progress(done, total)
                for i in range(0, len(changed), BATCH):
                    batch = []
                    for cur, delta in changed[i : i + BATCH]:
                        batch.append({"id": cur.id, **delta, "version": version, "updated_at": now})
                    s.execute(update(NegEntry), batch)
                    done += len(batch)
                    if progress:
                        progress(done, total)
                self._bump(s, row, "import", user, reason, {"added": len(new), "updated": len(changed)})
            elif progress:
                progress(0, 0)
            report.version = row.version
            return report

    def entries(self, name, *, offset=0, limit=100, q=None, include_disabled=True):  # type: ignore[no-untyped-def]
        with self.db.session() as s:
            row = self._row(s, name)
            cond = [NegEntry.list_id == row.id]
            if q:
                cond.append(NegEntry.term.contains(q, autoescape=True))
            if not include_disabled:
                cond.append(NegEntry.enabled.is_(True))
            total = s.scalar(select(func.count()).select_from(NegEntry).where(*cond)) or 0
            stmt = select(NegEntry).where(*cond).order_by(NegEntry.id).offset(offset)
            if limit is not None:
                stmt = stmt.limit(limit)
            return [_entry(r) for r in s.scalars(stmt)], total

    def get_entry(self, entry_id: int) -> Entry:
        with self.db.session() as s:
            r = s.get(NegEntry, entry_id)
            if r is None:
                raise NotFound(f"no entry with id {entry_id}", hint="list the entries with: qinglang lists show NAME")
            return _entry(r)

    def update_entry(self, entry_id: int, changes: dict[str, Any], *, user: str = "", reason: str = "") -> Entry:
        changes = clean_entry_changes(changes)
        with self.db.session() as s:
            r = s.get(NegEntry, entry_id)
            if r is None:
                raise NotFound(f"no entry with id {entry_id}", hint="list the entries with: qinglang lists show NAME")
            cur = _entry(r)
            delta = {k: v for k, v in changes.items() if getattr(cur, k) != v}
            if delta:
                row = s.get(NegList, r.list_id)
                assert row is not None
                for k, v in delta.items():
                    setattr(r, k, v)
                r.version = row.version + 1
                r.updated_at = utcnow()
                action = "disable-entry" if delta.get("enabled") is False else "update-entry"
                self._bump(s, row, action, user, reason, {"entry_id": r.id, "term": r.term, "changes": jsonable(delta)})
                s.flush()
            return _entry(r)

    # -- allow-list -------------------------------------------------------------------------
    def add_allow(self, phrase, list_name=None, *, note="", user="", reason=""):  # type: ignore[no-untyped-def]
        phrase = (phrase or "").strip()
        if not phrase:
            raise BadInput("the allowed phrase is empty", hint="give the longer phrase to allow")
        with self.db.session() as s:
            row = self._row(s, list_name, lock=True) if list_name else None
            a = NegAllow(list_id=row.id if row else None, phrase=phrase, enabled=True, note=note or "",
                         created_at=utcnow())  # fmt: skip
            s.add(a)
            s.flush()
            self._bump(s, row, "allow", user, reason, {"allow_id": a.id, "phrase": phrase})
            return _allow(a)

    def allows(self) -> list[AllowEntry]:
        with self.db.session() as s:
            return [_allow(a) for a in s.scalars(select(NegAllow).order_by(NegAllow.id))]

    def set_allow_enabled(self, allow_id: int, enabled: bool, *, user: str = "", reason: str = "") -> AllowEntry:
        with self.db.session() as s:
            a = s.get(NegAllow, allow_id)
            if a is None:
                raise NotFound(f"no allowed phrase with id {allow_id}", hint="see: qinglang lists allow --help")
            if a.enabled != enabled:
                a.enabled = enabled
                row = s.get(NegList, a.list_id) if a.list_id else None
                self._bump(s, row, "allow-enable" if enabled else "allow-disable", user, reason, {"allow_id": a.id})
            return _allow(a)

    # -- history and snapshots ----------------------------------------------------------------
    def versions(self, name: str | None) -> list[VersionInfo]:
        with self.db.session() as s:
            lid = self._row(s, name).id if name else None
            cond = NegVersion.list_id == lid if lid is not None else NegVersion.list_id.is_(None)
            rows = s.scalars(select(NegVersion).where(cond).order_by(NegVersion.id.desc()))
            return [VersionInfo(v.id, v.list_id, v.version, v.user, v.reason, v.action, dict(v.detail or {}),
                                v.created_at) for v in rows]  # fmt: skip

    def revision(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.max(NegVersion.id))) or 0)

    def snapshot(self) -> Snapshot:
        with self.db.session() as s:
            if not self.db.url.startswith("sqlite"):
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            rev = int(s.scalar(select(func.max(NegVersion.id))) or 0)
            lists = []
            for row in s.scalars(select(NegList).order_by(NegList.id)):
                lists.append(ListInfo(row.id, row.name, row.kind, row.category, row.severity, row.enabled,
                                      dict(row.options or {}), row.version, row.description))  # fmt: skip
            entries: dict[int, list[Entry]] = {i.id: [] for i in lists}
            # only what a matcher reads (tags, notes and kind-specific data stay in the database)
            cols = (NegEntry.id, NegEntry.list_id, NegEntry.term, NegEntry.category, NegEntry.severity,
                    NegEntry.valid_from, NegEntry.valid_until, NegEntry.pinyin, NegEntry.version)  # fmt: skip
            rows = s.execute(select(*cols).where(NegEntry.enabled.is_(True)).order_by(NegEntry.id)).tuples()
            for eid, lid, term, cat, sev, vf, vu, py, ver in rows:
                entries.setdefault(lid, []).append(
                    Entry(eid, lid, term, cat, sev, valid_from=vf, valid_until=vu, pinyin=py, version=ver)
                )
            allows = [_allow(a) for a in s.scalars(select(NegAllow).where(NegAllow.enabled.is_(True)))]
            return Snapshot(rev, lists, entries, allows, utcnow())
