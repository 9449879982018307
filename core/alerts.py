"""Alert store: folds hits into alerts and keeps operators' actions.

An alert is keyed by (source, rule); hits of one rule on one source within
``window_seconds`` of the alert's last hit fold into it. Folding is
idempotent: a hit already folded (a replay after a crash) changes nothing,
so ``count`` is the number of distinct hits.
"""

from __future__ import annotations

import builtins
from datetime import datetime, timedelta
from typing import Any, Sequence

from sqlalchemy import JSON, ColumnElement, DateTime, Integer, String, Text, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, Database
from core.errors import BadInput, Conflict, NotFound
from core.events import SEVERITY_RANK, Alert, AlertState, Hit, Severity, assume_utc, make_id, utcnow


class AlertRow(Base):
    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_source: Mapped[str] = mapped_column(String(128), index=True)
    key_rule: Mapped[str] = mapped_column(String(256), index=True)
    source_id: Mapped[str] = mapped_column(String(128), index=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True, default="new")
    detector: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    list_name: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    term: Mapped[str | None] = mapped_column(String(512), nullable=True)
    entry_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    last_hit_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    seq: Mapped[int] = mapped_column(Integer, index=True, default=0)


class AlertHitRow(Base):
    __tablename__ = "alert_hits"
    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hit_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertActionRow(Base):
    __tablename__ = "alert_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32))
    user: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    before: Mapped[str] = mapped_column(String(16))
    after: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


# action -> (allowed from-states, to-state)
ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "acknowledge": (frozenset({"new"}), "acknowledged"),
    "escalate": (frozenset({"new", "acknowledged"}), "escalated"),
    "dismiss": (frozenset({"new", "acknowledged", "escalated"}), "dismissed"),
    "link": (frozenset({"new", "acknowledged", "escalated", "linked"}), "linked"),
}


def rule_of(hit: Hit) -> str:
    ident = hit.entry_id or hit.term or ""
    return f"{hit.detector}:{hit.list_id or ''}:{ident}"


def _to_alert(r: AlertRow) -> Alert:
    return Alert(
        id=r.id, key_source=r.key_source, key_rule=r.key_rule, source_id=r.source_id,
        first_seen=assume_utc(r.first_seen), last_seen=assume_utc(r.last_seen), count=r.count,
        severity=Severity(r.severity), state=AlertState(r.state), detector=r.detector, category=r.category,
        list_name=r.list_name, term=r.term, last_hit_id=r.last_hit_id, case_id=r.case_id,
    )


class AlertStore:
    def __init__(self, db: Database, window_seconds: int = 600) -> None:
        self.db = db
        self.window = timedelta(seconds=window_seconds)

    # -- writing (stream jobs) -------------------------------------------------
    def fold(self, hit: Hit) -> Alert | None:
        """Fold one hit into its alert; returns the alert if it changed, else None."""
        changed = self.fold_many([hit])
        return changed[0] if changed else None

    def fold_many(self, hits: Sequence[Hit]) -> builtins.list[Alert]:
        """Fold a batch of hits in one transaction; returns the alerts that changed.

        Hits already folded (a replay) are skipped, so counts stay exact.
        """
        if not hits:
            return []
        with self.db.session() as s:
            done = set(s.scalars(select(AlertHitRow.hit_id).where(
                AlertHitRow.hit_id.in_({h.id for h in hits}))).all())
            seq = s.scalar(select(func.max(AlertRow.seq))) or 0
            latest = self._latest(s, [h for h in hits if h.id not in done])
            changed: dict[str, AlertRow] = {}
            links: builtins.list[dict[str, Any]] = []
            for hit in hits:
                if hit.id in done:
                    continue
                done.add(hit.id)
                seq += 1
                row = self._fold_one(s, hit, seq, latest)
                changed[row.id] = row
                links.append({"alert_id": row.id, "hit_id": hit.id, "detected_at": assume_utc(hit.detected_at)})
            s.flush()
            if links:  # one executemany, not an ORM object per hit
                s.execute(insert(AlertHitRow), links)
            return [_to_alert(r) for r in changed.values()]

    def _latest(self, s: Any, hits: Sequence[Hit]) -> dict[tuple[str, str], AlertRow | None]:
        """The newest alert of each (source, rule) of the batch that a hit could fold into, in one query.

        An alert whose last hit is more than the window before the batch's earliest hit can take
        none of them, so only newer ones are read (the newest alert of a key decides, as before).
        """
        if not hits:
            return {}
        keys = {(h.source_id, rule_of(h)) for h in hits}
        # a day of slack: SQLite keeps the wall clock of whatever zone a hit's time came in
        since = min(assume_utc(h.detected_at) for h in hits) - self.window - timedelta(days=1)
        latest: dict[tuple[str, str], AlertRow | None] = dict.fromkeys(keys)
        rows = s.scalars(select(AlertRow).where(
            AlertRow.key_source.in_({k[0] for k in keys}), AlertRow.key_rule.in_({k[1] for k in keys}),
            AlertRow.last_seen >= since,
        ))
        for row in rows:
            key = (row.key_source, row.key_rule)
            if key in latest:
                cur = latest[key]
                if cur is None or assume_utc(row.last_seen) > assume_utc(cur.last_seen):
                    latest[key] = row
        return latest

    def _fold_one(self, s: Any, hit: Hit, seq: int, latest: dict[tuple[str, str], AlertRow | None]) -> AlertRow:
        rule = rule_of(hit)
        at = assume_utc(hit.detected_at)
        key = (hit.source_id, rule)
        row = latest.get(key)
        if row is not None and at - assume_utc(row.last_seen) <= self.window and at >= assume_utc(row.first_seen) - self.window:
            row.count += 1
            row.last_seen = max(assume_utc(row.last_seen), at)
            row.first_seen = min(assume_utc(row.first_seen), at)
            row.last_hit_id = hit.id
            if SEVERITY_RANK.get(str(hit.severity), 0) > SEVERITY_RANK.get(row.severity, 0):
                row.severity = str(hit.severity)
            row.seq = seq
        else:
            row = AlertRow(
                id=make_id("alr", hit.source_id, rule, hit.id), key_source=hit.source_id,
                key_rule=rule, source_id=hit.source_id, first_seen=at, last_seen=at, count=1,
                severity=str(hit.severity), state="new", detector=hit.detector,
                category=hit.category, list_name=hit.list_name, term=hit.term,
                entry_id=hit.entry_id, last_hit_id=hit.id, seq=seq,
            )
            s.add(row)
            latest[key] = row
        return row

    # -- reading (console) -----------------------------------------------------
    def list(
        self, *, state: str | None = None, severity: str | None = None, source: str | None = None,
        detector: str | None = None, list_name: str | None = None, category: str | None = None,
        since: datetime | None = None, limit: int = 100, offset: int = 0,
    ) -> tuple[list[Alert], int]:
        conds: builtins.list[ColumnElement[bool]] = []
        for col, val in ((AlertRow.state, state), (AlertRow.severity, severity),
                         (AlertRow.source_id, source), (AlertRow.detector, detector),
                         (AlertRow.list_name, list_name), (AlertRow.category, category)):
            if val:
                vals = [v for v in str(val).split(",") if v]
                conds.append(col.in_(vals))
        if since is not None:
            conds.append(AlertRow.last_seen >= since)
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(AlertRow).where(*conds)) or 0
            rows = s.scalars(
                select(AlertRow).where(*conds)
                .order_by(AlertRow.last_seen.desc(), AlertRow.id.desc())
                .limit(max(1, min(limit, 1000))).offset(max(0, offset))
            ).all()
            return [_to_alert(r) for r in rows], int(total)

    def get(self, alert_id: str) -> Alert | None:
        with self.db.session() as s:
            row = s.get(AlertRow, alert_id)
            return _to_alert(row) if row else None

    def hit_ids(self, alert_id: str) -> builtins.list[str]:
        with self.db.session() as s:
            return list(s.scalars(
                select(AlertHitRow.hit_id).where(AlertHitRow.alert_id == alert_id)
                .order_by(AlertHitRow.detected_at.desc())
            ).all())

    def changes_since(self, seq: int) -> tuple[builtins.list[Alert], int]:
        with self.db.session() as s:
            rows = s.scalars(select(AlertRow).where(AlertRow.seq > seq).order_by(AlertRow.seq).limit(500)).all()
            new_seq = max([seq] + [r.seq for r in rows])
            return [_to_alert(r) for r in rows], new_seq

    def current_seq(self) -> int:
        with self.db.session() as s:
            return int(s.scalar(select(func.max(AlertRow.seq))) or 0)

    # -- operators' actions ------------------------------------------------------
    def act(self, alert_id: str, action: str, *, user: str, reason: str | None = None,
            case_id: str | None = None) -> Alert:
        if action not in ACTIONS:
            raise BadInput(f"unknown alert action {action!r}", hint=f"use one of {', '.join(ACTIONS)}")
        allowed, to_state = ACTIONS[action]
        if action == "dismiss" and not (reason or "").strip():
            raise BadInput("dismissing an alert needs a reason", hint="give --reason / a reason field")
        if action == "link" and not case_id:
            raise BadInput("linking an alert needs a case id", hint="pass case_id")
        with self.db.session() as s:
            row = s.get(AlertRow, alert_id)
            if row is None:
                raise NotFound(f"alert {alert_id} does not exist", hint="check the id in the alert list")
            if row.state not in allowed:
                raise Conflict(
                    f"cannot {action} an alert that is {row.state}",
                    hint=f"{action} is allowed from: {', '.join(sorted(allowed))}",
                )
            before = row.state
            row.state = to_state
            if case_id:
                row.case_id = case_id
            row.seq = (s.scalar(select(func.max(AlertRow.seq))) or 0) + 1
            s.add(AlertActionRow(alert_id=alert_id, action=action, user=user, reason=reason,
                                 before=before, after=to_state, at=utcnow(),
                                 extra={"case_id": case_id} if case_id else None))
            s.flush()
            return _to_alert(row)

    def history(self, alert_id: str) -> builtins.list[dict[str, Any]]:
        with self.db.session() as s:
            rows = s.scalars(select(AlertActionRow).where(AlertActionRow.alert_id == alert_id)
                             .order_by(AlertActionRow.id)).all()
            return [{"action": r.action, "user": r.user, "reason": r.reason, "before": r.before,
                     "after": r.after, "at": assume_utc(r.at).isoformat()} for r in rows]

    def dismissal_stats(self) -> builtins.list[dict[str, Any]]:
        """Per list entry: alerts raised and dismissed (precision = 1 - dismissed/total)."""
        with self.db.session() as s:
            rows = s.execute(
                select(AlertRow.list_name, AlertRow.entry_id, AlertRow.term, func.count(),
                       func.sum((AlertRow.state == "dismissed").cast(Integer)))
                .where(AlertRow.entry_id.is_not(None))
                .group_by(AlertRow.list_name, AlertRow.entry_id, AlertRow.term)
            ).all()
        out = []
        for list_name, entry_id, term, total, dismissed in rows:
            dismissed = int(dismissed or 0)
            out.append({"list": list_name, "entry_id": entry_id, "term": term, "alerts": int(total),
                        "dismissed": dismissed, "precision": round(1 - dismissed / total, 4) if total else None})
        return sorted(out, key=lambda d: (d["precision"] if d["precision"] is not None else 1.0))
