"""Side effects named in the workflow table (``Transition.effects``).

Each effect is a function ``(ctx, case, fields)`` that runs inside the action's
transaction; anything it raises rolls the whole action back, so a refused
action changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any, Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from complaints import calendar as cal
from complaints.models import Attachment, Case, Deadline, Feedback, MonitoringRequest, Referral, Unit
from complaints.views import utc
from core.errors import BadInput, Conflict, NotFound

TEMPLATES = Path(__file__).with_name("templates")
OUTCOME_TEXT = {"substantiated": "反映问题属实", "partly": "反映问题部分属实", "unsubstantiated": "反映问题不属实"}
REASON_TEXT = {
    "out_of_scope": "不属于本中心受理范围",
    "insufficient_information": "所提供的信息不足以核查",
    "duplicate": "与已受理的投诉重复",
}


@dataclass
class Ctx:
    session: Session
    actor: str
    now: datetime
    rules: dict[str, cal.Rule]
    blobs: Any = None
    on_monitoring_request: Callable[[str, datetime, str], Any] | None = None
    notify: Callable[[str, dict[str, Any], str], Any] | None = None

    @property
    def today(self) -> date:
        return cal.local_date(self.now)


def render(name: str, **values: Any) -> str:
    path = TEMPLATES / f"{name}.txt"
    return Template(path.read_text(encoding="utf-8")).safe_substitute(values).strip()


def _deadline(case: Case, name: str) -> Deadline | None:
    return next((d for d in case.deadlines if d.name == name), None)


def start_deadline(ctx: Ctx, case: Case, name: str, start: date, due: date | None = None) -> Deadline:
    rule = ctx.rules[name]
    due = due or cal.due_date(rule, start)
    d = _deadline(case, name)
    if d is None:
        d = Deadline(name=name, unit=rule.unit, amount=rule.amount, start=start, due=due)
        case.deadlines.append(d)
    else:
        d.unit, d.amount, d.start, d.due = rule.unit, rule.amount, start, due
        d.met_at = d.on_time = d.escalated_at = None
    return d


def meet(ctx: Ctx, case: Case, name: str) -> None:
    for d in case.deadlines:
        if d.met_at is None and name in ("all", d.name):
            d.met_at = ctx.now
            d.on_time = ctx.today <= d.due


def parse_date(value: Any, field: str) -> date:
    if isinstance(value, datetime):
        return cal.local_date(value)
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise BadInput(f"{field} {value!r} is not a date", hint="write dates as YYYY-MM-DD") from exc


def parse_moment(value: Any, field: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise BadInput(f"{field} {value!r} is not a date/time",
                           hint="write ISO-8601, e.g. 2026-10-09T10:00:00+08:00") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=cal.TZ)
    return utc(moment)


def find_unit(session: Session, ref: Any) -> Unit:
    key = str(ref).strip()
    cond = Unit.code == key
    if key.isdigit():
        cond = or_(cond, Unit.id == int(key))
    unit = session.execute(select(Unit).where(cond).limit(1)).scalar_one_or_none()
    if unit is None:
        raise NotFound(f"no unit {key!r} in the unit registry",
                       hint="list units with `qinglang complaints units ls` or add one with `units add`")
    return unit


def _open_referral(case: Case) -> Referral | None:
    return next((r for r in reversed(case.referrals) if r.replied_at is None), None)


# -- effects -------------------------------------------------------------------
def referral(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    unit = find_unit(ctx.session, f["unit"])
    due = parse_date(f["due"], "due") if f.get("due") else cal.due_date(ctx.rules["unit_reply"], ctx.today)
    if due < ctx.today:
        raise BadInput(f"due date {due} is in the past", hint="give a due date from today on")
    r = Referral(unit=unit, note=str(f["note"]), due=due, referred_at=ctx.now, referred_by=ctx.actor,
                 reply_text="", chase_count=0)
    case.referrals.append(r)
    start_deadline(ctx, case, "unit_reply", ctx.today, due)


def chase(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    r = _open_referral(case)
    if r is None:
        raise Conflict("there is no referral waiting for a reply", hint="refer the case first")
    r.chase_count += 1
    r.last_chased_at = ctx.now


def reply(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    r = _open_referral(case)
    if r is None:
        raise Conflict("there is no referral waiting for a reply", hint="refer the case first")
    r.reply_text = str(f["text"])
    r.replied_at = ctx.now


def conclusion(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    case.outcome = str(f["outcome"])
    case.outcome_basis = str(f["text"])


def feedback(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    template = "rejected" if case.state == "rejected" else "concluded"
    for person in case.complainants:
        origin = case if person.original_case_id == case.id else ctx.session.get(Case, person.original_case_id)
        origin = origin or case
        received = cal.local_date(utc(origin.received_at)).isoformat()
        text = render(
            template, tracking_code=origin.tracking_code, received=received,
            outcome_text=OUTCOME_TEXT.get(case.outcome, case.outcome), basis=case.outcome_basis,
            reason_text=REASON_TEXT.get(case.reject_reason, case.reject_reason), text=f.get("text") or "",
        )
        case.feedback.append(Feedback(complainant_id=person.id, channel=person.channel, template=template,
                                      text=text, sent_at=ctx.now, sent_by=ctx.actor))
        if ctx.notify is not None:
            ctx.notify(person.channel, {"name": person.name, "phone": person.phone, "email": person.email,
                                        "address": person.address}, text)


def rejection(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    case.reject_reason = str(f["reason"])


def closed(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    case.closed_at = ctx.now


def reopen(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    case.closed_at = None
    case.outcome = case.outcome_basis = ""
    case.reject_reason = ""


def extend(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    try:
        days = int(f["days"])
    except (TypeError, ValueError) as exc:
        raise BadInput(f"days {f['days']!r} is not a whole number", hint="give --days 1..30") from exc
    if not 1 <= days <= cal.MAX_EXTENSION_DAYS:
        raise BadInput(f"an extension of {days} days is not allowed",
                       hint=f"extend by 1 to {cal.MAX_EXTENSION_DAYS} days")
    d = _deadline(case, "conclusion")
    if d is None or d.met_at is not None:
        raise Conflict("the case has no running conclusion deadline to extend", hint="accept the case first")
    d.due = d.due + timedelta(days=days)
    d.escalated_at = None
    case.extended = True


def pause(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    case.paused_at = ctx.now
    case.paused_reason = str(f["reason"])


def resume(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    since = cal.local_date(utc(case.paused_at))  # type: ignore[arg-type]
    for d in case.deadlines:
        if d.met_at is None:
            d.due = cal.shift(d.unit, d.due, since, ctx.today)
    for r in case.referrals:
        if r.replied_at is None:
            r.due = cal.shift(cal.WORKING_DAYS, r.due, since, ctx.today)
    case.paused_at = None
    case.paused_reason = ""


def assign(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    case.assignee = str(f["user"]).strip()


def evidence(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    kind, ref = str(f["kind"]), str(f["ref"]).strip()
    sha, size = "", 0
    if kind == "blob":
        if ctx.blobs is None or not ctx.blobs.exists(ref):
            raise NotFound(f"no blob {ref!r} in the blob store", hint="upload the file as an attachment")
        sha, size = ref.split(":", 1)[1].split(".", 1)[0], len(ctx.blobs.get(ref))
    case.attachments.append(Attachment(kind=kind, ref=ref, sha256=sha or "", size=size or 0, media_type="",
                                       filename="", note=str(f.get("note") or f.get("text") or ""),
                                       added_by=ctx.actor, added_at=ctx.now))


def monitoring(ctx: Ctx, case: Case, f: dict[str, Any]) -> None:
    until = parse_moment(f["until"], "until")
    if until <= ctx.now:
        raise BadInput(f"monitoring until {until.isoformat()} is in the past", hint="give a future time")
    source = str(f["source"]).strip()
    case.monitoring.append(MonitoringRequest(source_id=source, until=until, reason=str(f["reason"]),
                                             requested_by=ctx.actor, requested_at=ctx.now))
    ctx.session.flush()
    if ctx.on_monitoring_request is not None:
        ctx.on_monitoring_request(source, until, str(f["reason"]))


EFFECTS: dict[str, Callable[[Ctx, Case, dict[str, Any]], None]] = {
    "referral": referral, "chase": chase, "reply": reply, "conclusion": conclusion, "feedback": feedback,
    "closed": closed, "rejection": rejection, "reopen": reopen, "extend": extend, "pause": pause, "resume": resume,
    "assign": assign, "evidence": evidence, "monitoring": monitoring,
}


def run(ctx: Ctx, case: Case, name: str, fields: dict[str, Any]) -> None:
    kind, _, arg = name.partition(":")
    if kind == "meet":
        meet(ctx, case, arg)
    elif kind == "start":
        start_deadline(ctx, case, arg, ctx.today)
    elif name != "merge":  # merge is done by the service (it touches two cases)
        EFFECTS[name](ctx, case, fields)
