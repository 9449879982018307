"""The source registry in the database: sources, sampling boosts, health, crawl state.

``SourceRegistry(db)`` is the one way to read and change them (CLI, API and
worker share it). Source ids are deterministic (``make_id("src", kind,
locator)``) unless given, so importing a register twice updates instead of
duplicating.

Schedules: ``""`` (automatic: live streams continuously, files once, the rest
every ``profile.recrawl_seconds``), ``continuous``, ``once``, ``manual`` or an
interval (``900``, ``90s``, ``15m``, ``2h``).

Boosts: ``boost(source_id=..., tag=..., factor, until, reason)`` raises the
sampling of one source (targeted monitoring requested by a complaint) or of
every source with a tag (key dramas) until ``until``: frames per second x
factor, keyframe interval and recrawl interval / factor.
"""

from __future__ import annotations

import builtins
import hashlib
import re
from datetime import datetime
from typing import Any, Iterable

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database
from core.errors import BadInput, Conflict, NotFound
from core.events import SamplingProfile, Source, SourceKind, assume_utc, make_id, utcnow
from ingest.base import StateStore

_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(schedule: str) -> tuple[str, float | None]:
    """(mode, seconds): mode is auto, continuous, once, manual or interval."""
    s = (schedule or "").strip().lower()
    if s in ("", "auto"):
        return "auto", None
    if s in ("continuous", "once", "manual"):
        return s, None
    m = _INTERVAL.match(s.removeprefix("every").strip())
    if not m or float(m.group(1)) <= 0:
        raise BadInput(
            f"schedule {schedule!r} is not understood",
            hint="use continuous, once, manual, or an interval such as 900, 90s, 15m, 2h",
        )
    return "interval", float(m.group(1)) * _UNITS[m.group(2)]


class SourceRow(Base):
    __tablename__ = "ingest_sources"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    name: Mapped[str] = mapped_column(sa.String(256))
    operator: Mapped[str] = mapped_column(sa.String(256), default="")
    licence: Mapped[str] = mapped_column(sa.String(128), default="")
    locator: Mapped[str] = mapped_column(sa.Text)
    tags: Mapped[list] = mapped_column(sa.JSON, default=list)
    profile: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    options: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    schedule: Mapped[str] = mapped_column(sa.String(64), default="")
    language: Mapped[str] = mapped_column(sa.String(16), default="zh")
    enabled: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    def to_source(self) -> Source:
        return Source(
            id=self.id, kind=SourceKind(self.kind), name=self.name, operator=self.operator or "",
            licence=self.licence or "", locator=self.locator, tags=list(self.tags or []),
            profile=SamplingProfile(**(self.profile or {})), language=self.language or "zh",
            enabled=bool(self.enabled), options=dict(self.options or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        data = self.to_source().to_json()
        data.pop("schema_version", None)
        data.update(schedule=self.schedule or "", created_at=assume_utc(self.created_at).isoformat(),
                    updated_at=assume_utc(self.updated_at).isoformat())
        return data


class BoostRow(Base):
    __tablename__ = "ingest_boosts"
    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    source_id: Mapped[str | None] = mapped_column(sa.String(64), index=True, nullable=True)
    tag: Mapped[str | None] = mapped_column(sa.String(64), index=True, nullable=True)
    factor: Mapped[float] = mapped_column(sa.Float)
    until: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class HealthRow(Base):
    __tablename__ = "ingest_health"
    source_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    state: Mapped[str] = mapped_column(sa.String(16), default="idle")  # idle, ok, running, error, lost, silent
    last_sample_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    last_run_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)
    samples_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    errors_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), nullable=True)

    def to_dict(self) -> dict[str, Any]:
        def iso(d: datetime | None) -> str | None:
            return assume_utc(d).isoformat() if d else None

        return {
            "source_id": self.source_id, "state": self.state, "last_sample_at": iso(self.last_sample_at),
            "last_run_at": iso(self.last_run_at), "samples_total": self.samples_total or 0,
            "errors_total": self.errors_total or 0, "last_error": self.last_error or "",
            "last_error_at": iso(self.last_error_at),
        }


class StateRow(Base):
    __tablename__ = "ingest_state"
    source_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text)
    value: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class DbState(StateStore):
    """Crawl/feed change state in the ``ingest_state`` table (survives restarts)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _h(key: str) -> str:
        return hashlib.sha1(key.encode("utf-8")).hexdigest()

    def get(self, source_id: str, key: str) -> str | None:
        with self.db.session() as s:
            row = s.get(StateRow, (source_id, self._h(key)))
            return row.value if row else None

    def put(self, source_id: str, key: str, value: str) -> None:
        with self.db.session() as s:
            row = s.get(StateRow, (source_id, self._h(key)))
            if row is None:
                s.add(StateRow(source_id=source_id, key_hash=self._h(key), key=key, value=value, updated_at=utcnow()))
            else:
                row.value, row.updated_at = value, utcnow()


EDITABLE = ("kind", "name", "operator", "licence", "locator", "tags", "profile", "options", "schedule",
            "language", "enabled")


def validate_fields(data: dict[str, Any]) -> dict[str, Any]:
    """Checked, normalised copy of source fields (BadInput naming the field)."""
    out = {k: v for k, v in data.items() if k in EDITABLE and v is not None}
    if "kind" in out:
        try:
            out["kind"] = SourceKind(str(out["kind"]).strip().lower()).value
        except ValueError as exc:
            raise BadInput(f"unknown source kind {out['kind']!r}",
                           hint="use one of: " + ", ".join(k.value for k in SourceKind)) from exc
    for key in ("name", "locator"):
        if key in out:
            out[key] = str(out[key]).strip()
            if not out[key]:
                raise BadInput(f"source {key} is empty", hint=f"give the source a {key}")
    if "tags" in out:
        tags = out["tags"]
        if isinstance(tags, str):
            tags = re.split(r"[;,|\s]+", tags)
        out["tags"] = sorted({str(t).strip() for t in tags if str(t).strip()})
    if "profile" in out:
        try:
            out["profile"] = SamplingProfile(**dict(out["profile"])).model_dump()
        except (ValidationError, TypeError, ValueError) as exc:
            raise BadInput(f"bad sampling profile: {exc}", hint="see core.events.SamplingProfile") from exc
    if "options" in out and not isinstance(out["options"], dict):
        raise BadInput("source options must be an object", hint='e.g. {"depth": 2}')
    if "schedule" in out:
        parse_schedule(str(out["schedule"]))
    return out


class SourceRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.state = DbState(db)

    # -- sources ----------------------------------------------------------------
    def add(self, *, upsert: bool = False, id: str | None = None, **fields: Any) -> dict[str, Any]:
        data = validate_fields(fields)
        for key in ("kind", "name", "locator"):
            if key not in data:
                raise BadInput(f"a source needs a {key}", hint="give kind, name and locator")
        sid = (id or "").strip() or make_id("src", data["kind"], data["locator"])
        with self.db.session() as s:
            row = s.get(SourceRow, sid)
            if row is not None and not upsert:
                raise Conflict(f"source {sid} already exists ({row.name})", hint="update it, or import with upsert")
            if row is None:
                row = SourceRow(id=sid, created_at=utcnow())
                s.add(row)
            for key, value in data.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            s.flush()
            return row.to_dict()

    def get_row(self, s: Any, source_id: str) -> SourceRow:
        row = s.get(SourceRow, source_id)
        if row is None:
            raise NotFound(f"source {source_id} does not exist", hint="list sources with `qinglang sources ls`")
        return row

    def get(self, source_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            return self.get_row(s, source_id).to_dict()

    def source(self, source_id: str) -> Source:
        with self.db.session() as s:
            return self.get_row(s, source_id).to_source()

    def list(self, *, enabled: bool | None = None, kind: str | None = None, tag: str | None = None,
             offset: int = 0, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
        with self.db.session() as s:
            q = sa.select(SourceRow)
            if enabled is not None:
                q = q.where(SourceRow.enabled.is_(enabled))
            if kind:
                q = q.where(SourceRow.kind == kind)
            rows = [r for r in s.scalars(q.order_by(SourceRow.name, SourceRow.id)) if not tag or tag in (r.tags or [])]
            total = len(rows)
            rows = rows[offset: offset + limit if limit is not None else None]
            return [r.to_dict() for r in rows], total

    def rows(self, enabled_only: bool = True) -> builtins.list[tuple[Source, str]]:
        """(Source, schedule) of every (enabled) source: what the worker schedules."""
        with self.db.session() as s:
            q = sa.select(SourceRow)
            if enabled_only:
                q = q.where(SourceRow.enabled.is_(True))
            return [(r.to_source(), r.schedule or "") for r in s.scalars(q)]

    def schedule_of(self, source_id: str) -> str:
        with self.db.session() as s:
            return self.get_row(s, source_id).schedule or ""

    def update(self, source_id: str, **fields: Any) -> dict[str, Any]:
        data = validate_fields(fields)
        with self.db.session() as s:
            row = self.get_row(s, source_id)
            for key, value in data.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
            s.flush()
            return row.to_dict()

    def set_enabled(self, source_id: str, enabled: bool) -> dict[str, Any]:
        return self.update(source_id, enabled=enabled)

    def delete(self, source_id: str) -> None:
        with self.db.session() as s:
            s.delete(self.get_row(s, source_id))
            for model in (HealthRow, StateRow, BoostRow):
                s.execute(sa.delete(model).where(model.source_id == source_id))

    # -- boosts -----------------------------------------------------------------
    def boost(self, source_id: str | None = None, factor: float = 2.0, until: datetime | None = None,
              reason: str = "", *, tag: str | None = None) -> int:
        if not source_id and not tag:
            raise BadInput("a boost needs a source id or a tag", hint="boost(source_id=...) or boost(tag=...)")
        if factor <= 0:
            raise BadInput(f"boost factor {factor} must be positive", hint="e.g. 2 for twice the sampling")
        if until is None or assume_utc(until) <= utcnow():
            raise BadInput("a boost needs an end time in the future", hint="pass until=")
        with self.db.session() as s:
            if source_id:
                self.get_row(s, source_id)
            row = BoostRow(source_id=source_id, tag=tag, factor=float(factor), until=assume_utc(until),
                           reason=reason, created_at=utcnow())
            s.add(row)
            s.flush()
            return row.id

    def boost_factor(self, source: Source, now: datetime | None = None) -> float:
        now = now or utcnow()
        with self.db.session() as s:
            rows = s.scalars(sa.select(BoostRow).where(
                sa.or_(BoostRow.source_id == source.id, BoostRow.tag.in_(list(source.tags) or [""]))))
            factors = [r.factor for r in rows if assume_utc(r.until) > now]
        return max(factors, default=1.0)

    def effective(self, source: Source, now: datetime | None = None) -> Source:
        """The source with its active boost applied to the sampling profile."""
        factor = self.boost_factor(source, now)
        if factor == 1.0:
            return source
        p = source.profile
        profile = p.model_copy(update={
            "frames_per_second": p.frames_per_second * factor,
            "keyframe_interval": p.keyframe_interval / factor,
            "recrawl_seconds": p.recrawl_seconds / factor,
        })
        return source.model_copy(update={"profile": profile})

    # -- health -----------------------------------------------------------------
    def _health(self, s: Any, source_id: str) -> HealthRow:
        row = s.get(HealthRow, source_id)
        if row is None:
            row = HealthRow(source_id=source_id, state="idle", samples_total=0, errors_total=0, last_error="")
            s.add(row)
        return row

    def record_samples(self, source_id: str, count: int, at: datetime | None = None) -> None:
        with self.db.session() as s:
            row = self._health(s, source_id)
            row.samples_total = (row.samples_total or 0) + count
            row.last_sample_at = at or utcnow()
            if row.state in ("idle", "error", "lost", "silent", None):
                row.state = "ok"

    def record_error(self, source_id: str, reason: str) -> None:
        with self.db.session() as s:
            row = self._health(s, source_id)
            row.errors_total = (row.errors_total or 0) + 1
            row.last_error, row.last_error_at = reason[:2000], utcnow()

    def set_state(self, source_id: str, state: str, *, ran: bool = False) -> None:
        with self.db.session() as s:
            row = self._health(s, source_id)
            row.state = state
            if ran:
                row.last_run_at = utcnow()

    def health(self, source_id: str | None = None) -> Any:
        with self.db.session() as s:
            if source_id is not None:
                row = s.get(HealthRow, source_id)
                return row.to_dict() if row else HealthRow(source_id=source_id, state="idle", samples_total=0,
                                                           errors_total=0, last_error="").to_dict()
            return {r.source_id: r.to_dict() for r in s.scalars(sa.select(HealthRow))}

    def import_rows(self, rows: Iterable[dict[str, Any]]) -> int:
        count = 0
        for row in rows:
            self.add(upsert=True, **row)
            count += 1
        return count
