"""CaseService: the one door to the complaint workflow (CLI, API and pages use it).

    svc = CaseService(db, blobs, actor=Actor("zhang", {"handler"}))
    case = svc.register(channel="hotline", category="vulgar", target="某平台 某节目", description="...")
    svc.act(case["id"], "accept")

Every change runs in one transaction together with its audit row; a refused
action raises (``Conflict`` 409, ``PermissionDenied`` 403, ``BadInput`` 422,
``NotFound`` 404) and changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from difflib import SequenceMatcher
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints import audit, effects, workflow
from complaints import calendar as cal
from complaints import events as case_events
from complaints.masking import may_see_personal_data
from complaints.models import Attachment, Case, Complainant, Deadline, Unit
from complaints.queries import QueriesMixin
from complaints.schemas import CHANNELS, DEFAULT_CATEGORIES, CaseCreate
from complaints.views import case_dict, facts, snapshot, utc
from core.errors import BadInput, Conflict, NotFound, PermissionDenied, QinglangError

ALL_ROLES = frozenset({"operator", "handler", "supervisor", "analyst", "list_admin", "admin"})
REGISTERING = frozenset({"operator", "handler", "supervisor", "admin"})
READING = frozenset({"handler", "supervisor", "analyst", "admin", "operator"})
ALLOWED_TYPES = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "application/pdf": "pdf", "text/plain": "txt", "audio/mpeg": "mp3", "audio/wav": "wav",
    "audio/x-wav": "wav", "video/mp4": "mp4",
}
SYSTEM = "system"


class PayloadTooLarge(BadInput):
    http_status = 413


class UnsupportedType(BadInput):
    http_status = 415


@dataclass(frozen=True)
class Actor:
    name: str
    roles: frozenset[str] = field(default_factory=lambda: frozenset({"admin"}))

    @classmethod
    def of(cls, actor: Actor | str, roles: Iterable[str] | None = None) -> Actor:
        if isinstance(actor, Actor):
            return actor
        return cls(str(actor), frozenset(roles) if roles is not None else frozenset({"admin"}))

    @property
    def effective_roles(self) -> frozenset[str]:
        return ALL_ROLES if "admin" in self.roles else self.roles


def _similar(a: str, b: str) -> float:
    a, b = "".join(a.split()), "".join(b.split())
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a[:2000], b[:2000], autojunk=False).ratio()


def target_key(target: str) -> str:
    return " ".join(target.lower().split())[:200]


class CaseService(QueriesMixin):
    def __init__(self, db: Any, blobs: Any = None, *, actor: Actor | str = SYSTEM, config: dict[str, Any] | None = None,
                 on_monitoring_request: Callable[[str, datetime, str], Any] | None = None,
                 notify: Callable[[str, dict[str, Any], str], Any] | None = None,
                 on_change: Callable[[dict[str, Any]], Any] | None = None,
                 max_upload_bytes: int = 20 * 1024 * 1024, clock: Callable[[], datetime] | None = None,
                 duplicate_window_days: int = 30, duplicate_similarity: float = 0.6) -> None:
        self.db, self.blobs, self.actor = db, blobs, Actor.of(actor)
        self.config = config or {}
        self.on_monitoring_request, self.notify, self.on_change = on_monitoring_request, notify, on_change
        self._pending: list[dict[str, Any]] = []
        self.max_upload_bytes = max_upload_bytes
        self.clock = clock or (lambda: datetime.now(UTC))
        self.duplicate_window = timedelta(days=duplicate_window_days)
        self.duplicate_similarity = duplicate_similarity
        self.categories = tuple(self.config.get("categories") or DEFAULT_CATEGORIES)

    # -- helpers -------------------------------------------------------------
    @property
    def roles(self) -> frozenset[str]:
        return self.actor.effective_roles

    def now(self) -> datetime:
        return utc(self.clock())

    def _need(self, allowed: frozenset[str], what: str) -> None:
        if not self.roles & allowed:
            raise PermissionDenied(f"{self.actor.name} may not {what}",
                                   hint=f"needs one of the roles {', '.join(sorted(allowed))}")

    def _ctx(self, s: Session) -> effects.Ctx:
        return effects.Ctx(s, self.actor.name, self.now(), {}, self.blobs, self.on_monitoring_request,
                           self.notify)

    @staticmethod
    def _load(s: Session, case_id: Any, lock: bool = False) -> Case:
        try:
            key = int(case_id)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"case id {case_id!r} is not a number", hint="case ids are whole numbers") from exc
        case = s.get(Case, key, with_for_update=lock or None)
        if case is None:
            raise NotFound(f"no complaint case {key}", hint="list cases with `qinglang complaints ls`")
        return case

    def _audit(self, s: Session, case_id: int, action: str, before: dict[str, Any] | None,
               after: dict[str, Any], reason: str, at: datetime, actor: str | None = None) -> None:
        row = audit.append(s, case_id, actor=actor or self.actor.name, action=action, before=before,
                           after=after, reason=reason, at=at)
        if self.on_change is not None:
            self._pending.append(case_events.event_of(row, before or {}, after))

    def _flush_events(self) -> None:
        pending, self._pending = self._pending, []
        for event in pending:
            self.on_change(event)  # type: ignore[misc]

    def _view(self, case: Case) -> dict[str, Any]:
        return case_dict(case, self.roles, cal.local_date(self.now()))

    # -- registration ----------------------------------------------------------
    def register(self, **data: Any) -> dict[str, Any]:
        """Register a complaint; returns the case (with ``tracking_code`` and ``duplicates``)."""
        if data.get("channel") != "web":
            self._need(REGISTERING, "register complaints")
        try:
            req = data if isinstance(data, CaseCreate) else CaseCreate.model_validate(data)
        except ValueError as exc:
            raise BadInput(f"the complaint is not valid: {exc}", hint="check the fields and try again") from exc
        if req.channel not in CHANNELS:
            raise BadInput(f"unknown channel {req.channel!r}", hint=f"use one of: {', '.join(CHANNELS)}")
        if req.channel == "monitoring" and req.category not in self.categories:
            req.category = "other"  # a detector's category outside the complaint categories
        if req.category not in self.categories:
            raise BadInput(f"unknown category {req.category!r}", hint=f"use one of: {', '.join(self.categories)}")
        now = self.now()
        received = utc(req.received_at.replace(tzinfo=req.received_at.tzinfo or cal.TZ)) if req.received_at else now
        if received > now + timedelta(minutes=5):
            raise BadInput("received_at is in the future", hint="give the time the complaint arrived")
        rules = cal.rules_for(req.category, self.config)
        self._pending = []
        with self.db.session() as s:
            case = Case(
                tracking_code=self._new_code(s), channel=req.channel, category=req.category,
                target=req.target, target_key=target_key(req.target), target_platform=req.target_platform,
                target_program=req.target_program, target_url=req.target_url,
                target_account=req.target_account, target_source_id=req.target_source_id,
                description=req.description, received_at=received, registered_at=now,
                registered_by=self.actor.name, state="registered", assignee="", reject_reason="",
                outcome="", outcome_basis="", paused_reason="", extended=False, escalated=False,
                updated_at=now,
            )
            start = cal.local_date(received)
            case.deadlines.append(Deadline(name="acceptance", unit=rules["acceptance"].unit,
                                           amount=rules["acceptance"].amount, start=start,
                                           due=cal.due_date(rules["acceptance"], start)))
            s.add(case)
            s.flush()
            person = req.complainant.model_dump() if req.complainant else {"anonymous": True}
            if req.channel != "monitoring" or req.complainant:  # a case from monitoring has no complainant
                case.complainants.append(Complainant(
                    original_case_id=case.id, name=person.get("name", ""), phone=person.get("phone", ""),
                    email=person.get("email", ""), id_number=person.get("id_number", ""),
                    address=person.get("address", ""), channel=req.channel,
                    anonymous=bool(person.get("anonymous")), created_at=now))
            ev = req.evidence or {}
            refs = [("alert", ev.get("alert_id"))] + [("hit", h) for h in ev.get("hit_ids") or []]
            for kind, ref in refs:
                if ref:
                    case.attachments.append(Attachment(kind=kind, ref=str(ref)[:300], sha256="", media_type="",
                                                       size=0, filename="", note="", added_by=self.actor.name,
                                                       added_at=now))
            s.flush()
            self._audit(s, case.id, "register", None, snapshot(case), f"channel {req.channel}", now)
            out = self._view(case)
            out["duplicates"] = self._duplicates(s, case)
        self._flush_events()
        return out

    @staticmethod
    def _new_code(s: Session) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        while True:
            code = "QL-" + "".join(secrets.choice(alphabet) for _ in range(10))
            if s.execute(select(Case.id).where(Case.tracking_code == code)).first() is None:
                return code

    def _duplicates(self, s: Session, case: Case) -> list[dict[str, Any]]:
        since = utc(case.registered_at) - self.duplicate_window
        rows = s.execute(
            select(Case).where(Case.target_key == case.target_key, Case.id != case.id,
                               Case.registered_at >= since, Case.state.notin_(("merged", "closed")))
            .order_by(Case.id).limit(50)
        ).scalars().all()
        out = []
        for other in rows:
            score = _similar(case.description, other.description)
            if score >= self.duplicate_similarity:
                out.append({"id": other.id, "state": other.state, "similarity": round(score, 3)})
        return out

    def duplicates(self, case_id: Any) -> list[dict[str, Any]]:
        """Open cases about the same target with a similar description (offered for merge)."""
        self._need(READING, "read cases")
        with self.db.session() as s:
            return self._duplicates(s, self._load(s, case_id))

    # -- actions ---------------------------------------------------------------
    def act(self, case_id: Any, action: str, **fields: Any) -> dict[str, Any]:
        fields = {k: v for k, v in fields.items() if v is not None}
        workflow.transition(action)  # unknown action: say so before looking the case up
        self._pending = []
        with self.db.session() as s:
            case = self._load(s, case_id, lock=True)
            t = workflow.check(action, case.state, self.roles, fields, facts(case))
            ctx = self._ctx(s)
            ctx.rules = cal.rules_for(case.category, self.config)
            before = snapshot(case)
            if "merge" in t.effects:
                self._merge(s, ctx, case, fields)
            for name in t.effects:
                effects.run(ctx, case, name, fields)
            if t.target:
                case.state = t.target
            case.updated_at = ctx.now
            s.flush()
            s.refresh(case)
            why = str(fields.get("reason") or fields.get("text") or fields.get("note") or "")
            self._audit(s, case.id, action, before, snapshot(case), why, ctx.now)
            result = self._view(case)
        self._flush_events()
        return result

    def _merge(self, s: Session, ctx: effects.Ctx, case: Case, fields: dict[str, Any]) -> None:
        into = self._load(s, fields["into"], lock=True)
        if into.id == case.id:
            raise Conflict("a case cannot be merged into itself", hint="give the id of the other case")
        if into.state not in workflow.OPEN_STATES:
            raise Conflict(f"case {into.id} is {into.state}; merge into an open case",
                           hint="reopen the other case first or merge the other way round")
        before = snapshot(into)
        for person in list(case.complainants):
            person.case_id = into.id
        for att in s.execute(select(Attachment).where(Attachment.case_id == case.id)).scalars():
            att.case_id = into.id
        case.merged_into = into.id
        into.updated_at = ctx.now
        s.flush()
        s.expire(case, ["complainants", "attachments"])
        s.refresh(into)
        self._audit(s, into.id, "merge-in", before, snapshot(into), f"case {case.id} merged in", ctx.now)

    # -- reading ---------------------------------------------------------------
    def show(self, case_id: Any) -> dict[str, Any]:
        self._need(READING, "read cases")
        with self.db.session() as s:
            case = self._load(s, case_id)
            out = self._view(case)
            out["duplicates"] = self._duplicates(s, case) if case.state in workflow.OPEN_STATES else []
            out["audit"] = audit.verify_chain(s, case.id).__dict__
            return out

    def timeline(self, case_id: Any) -> list[dict[str, Any]]:
        self._need(READING, "read cases")
        with self.db.session() as s:
            self._load(s, case_id)
            rows = audit.timeline(s, int(case_id))
        if not may_see_personal_data(self.roles):
            for row in rows:
                row["before"].pop("complainants", None)
                row["after"].pop("complainants", None)
        return rows

    def verify_audit(self, case_id: Any) -> audit.ChainReport:
        with self.db.session() as s:
            self._load(s, case_id)
            return audit.verify_chain(s, int(case_id))

    def track(self, code: str) -> dict[str, Any]:
        """The public status of a case by tracking code (no personal data, no internals)."""
        with self.db.session() as s:
            case = s.execute(select(Case).where(Case.tracking_code == code.strip().upper())).scalar_one_or_none()
            if case is None:
                raise NotFound("no complaint with this tracking code", hint="check the code you were given")
            origin = case
            if case.merged_into is not None:
                case = self._load(s, case.merged_into)
            mine = {c.id for c in case.complainants if c.original_case_id == origin.id}
            return {"tracking_code": origin.tracking_code, "state": case.state,
                    "registered_at": utc(origin.registered_at).isoformat(),
                    "deadlines": {d.name: d.due.isoformat() for d in case.deadlines if d.name != "unit_reply"},
                    "feedback": [{"text": f.text, "sent_at": utc(f.sent_at).isoformat()}
                                 for f in case.feedback if f.complainant_id in mine]}

    # -- attachments -----------------------------------------------------------
    def attach_file(self, case_id: Any, data: bytes, *, filename: str, media_type: str, note: str = "") -> dict[str, Any]:
        media_type = (media_type or "").split(";")[0].strip().lower()
        if media_type not in ALLOWED_TYPES:
            raise UnsupportedType(f"attachments of type {media_type or 'unknown'!r} are not accepted",
                                  hint=f"upload one of: {', '.join(sorted(ALLOWED_TYPES))}")
        if len(data) > self.max_upload_bytes:
            raise PayloadTooLarge(f"attachment is {len(data)} bytes; the limit is {self.max_upload_bytes}",
                                  hint="upload a smaller file or ask an administrator to raise max_upload_bytes")
        if self.blobs is None:
            raise Conflict("no blob store configured", hint="open the service with a blob store")
        self._pending = []
        with self.db.session() as s:
            case = self._load(s, case_id, lock=True)
            workflow.check("attach-evidence", case.state, self.roles, {"kind": "blob", "ref": "upload"})
            ref = self.blobs.put(data, ALLOWED_TYPES[media_type])
            before = snapshot(case)
            now = self.now()
            att = Attachment(kind="blob", ref=ref, sha256=ref.split(":", 1)[1].split(".", 1)[0],
                             media_type=media_type, size=len(data), filename=filename[:300], note=note,
                             added_by=self.actor.name, added_at=now)
            case.attachments.append(att)
            case.updated_at = now
            s.flush()
            self._audit(s, case.id, "attach-file", before, snapshot(case) | {"attachment": ref}, filename, now)
            result = {"id": att.id, "ref": ref, "sha256": att.sha256, "size": att.size, "media_type": media_type}
        self._flush_events()
        return result

    # -- units -----------------------------------------------------------------
    def add_unit(self, code: str, name: str, kind: str = "agency", contact: str = "") -> dict[str, Any]:
        self._need(frozenset({"supervisor", "admin"}), "maintain the unit registry")
        kinds = ("city_bureau", "county_bureau", "platform", "agency")
        if kind not in kinds:
            raise BadInput(f"unknown unit kind {kind!r}", hint=f"use one of: {', '.join(kinds)}")
        with self.db.session() as s:
            if s.execute(select(Unit.id).where(Unit.code == code)).first():
                raise Conflict(f"unit {code!r} already exists", hint="choose another code")
            unit = Unit(code=code, name=name, kind=kind, contact=contact, created_at=self.now())
            s.add(unit)
            s.flush()
            return {"id": unit.id, "code": code, "name": name, "kind": kind, "contact": contact}

    def units(self) -> list[dict[str, Any]]:
        self._need(READING, "read the unit registry")
        with self.db.session() as s:
            return [{"id": u.id, "code": u.code, "name": u.name, "kind": u.kind, "contact": u.contact}
                    for u in s.execute(select(Unit).order_by(Unit.code)).scalars()]

    # -- escalation ------------------------------------------------------------
    def escalate_overdue(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Mark passed deadlines escalated to the supervisor (idempotent); returns what was escalated."""
        now = utc(now) if now else self.now()
        today = cal.local_date(now)
        out: list[dict[str, Any]] = []
        self._pending = []
        with self.db.session() as s:
            rows = s.execute(
                select(Deadline).join(Case).where(Deadline.met_at.is_(None), Deadline.escalated_at.is_(None),
                                                  Deadline.due < today, Case.paused_at.is_(None))
            ).scalars().all()
            for d in rows:
                case = d.case
                before = snapshot(case)
                d.escalated_at = now
                case.escalated = True
                if d.name == "unit_reply":
                    for r in case.referrals:
                        if r.replied_at is None:
                            r.chase_count += 1
                            r.last_chased_at = now
                self._audit(s, case.id, "escalate", before, snapshot(case),
                            f"deadline {d.name} passed (due {d.due.isoformat()})", now, actor=SYSTEM)
                out.append({"case_id": case.id, "deadline": d.name, "due": d.due.isoformat()})
        self._flush_events()
        return out


__all__ = ["Actor", "CaseService", "PayloadTooLarge", "UnsupportedType", "QinglangError"]
