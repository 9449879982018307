"""Turning rows into plain dicts (JSON-ready) for the CLI, the API and the pages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable, overload

from complaints import workflow
from complaints.masking import mask_complainant, may_see_personal_data
from complaints.models import Case, Complainant, Deadline
from core.events import as_utc


@overload
def utc(moment: datetime) -> datetime: ...


@overload
def utc(moment: None) -> None: ...


def utc(moment: datetime | None) -> datetime | None:
    """Rows come back naive from SQLite: they were written in UTC."""
    return None if moment is None else as_utc(moment)


def iso(moment: datetime | date | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return utc(moment).isoformat()
    return moment.isoformat()


def snapshot(case: Case) -> dict[str, Any]:
    """The fields an audit row records before and after a change."""
    return {
        "state": case.state,
        "assignee": case.assignee,
        "outcome": case.outcome,
        "reject_reason": case.reject_reason,
        "merged_into": case.merged_into,
        "paused": case.paused_at is not None,
        "extended": case.extended,
        "deadlines": {d.name: d.due.isoformat() for d in case.deadlines},
        "complainants": sorted(c.id for c in case.complainants),
    }


def complainant_dict(c: Complainant, roles: Iterable[str]) -> dict[str, Any]:
    person = {
        "id": c.id, "name": c.name, "phone": c.phone, "email": c.email, "id_number": c.id_number,
        "address": c.address, "channel": c.channel, "anonymous": c.anonymous,
        "original_case_id": c.original_case_id, "masked": False,
    }
    return mask_complainant(person, roles)


def deadline_dict(d: Deadline, today: date) -> dict[str, Any]:
    return {
        "name": d.name, "unit": d.unit, "amount": d.amount, "start": d.start.isoformat(),
        "due": d.due.isoformat(), "met_at": iso(d.met_at), "on_time": d.on_time,
        "overdue": d.met_at is None and today > d.due, "escalated_at": iso(d.escalated_at),
    }


def summary(case: Case, today: date) -> dict[str, Any]:
    open_dues = [d.due for d in case.deadlines if d.met_at is None]
    nxt = min(open_dues) if open_dues else None
    return {
        "id": case.id, "tracking_code": case.tracking_code, "state": case.state, "channel": case.channel,
        "category": case.category, "target": case.target, "target_platform": case.target_platform,
        "assignee": case.assignee, "registered_at": iso(case.registered_at),
        "next_due": iso(nxt), "overdue": bool(nxt and today > nxt and case.paused_at is None),
        "escalated": case.escalated, "paused": case.paused_at is not None,
    }


def facts(case: Case) -> dict[str, bool]:
    """What the workflow guards ask about a case."""
    return {"paused": case.paused_at is not None, "extended": case.extended,
            "merged": case.merged_into is not None,
            "open_referral": any(r.replied_at is None for r in case.referrals)}


def case_dict(case: Case, roles: Iterable[str], today: date) -> dict[str, Any]:
    roles = set(roles)
    out = summary(case, today)
    out.update({
        "description": case.description, "received_at": iso(case.received_at),
        "registered_by": case.registered_by,
        "target_program": case.target_program, "target_url": case.target_url,
        "target_account": case.target_account, "target_source_id": case.target_source_id,
        "reject_reason": case.reject_reason, "outcome": case.outcome, "outcome_basis": case.outcome_basis,
        "merged_into": case.merged_into, "paused_reason": case.paused_reason, "extended": case.extended,
        "closed_at": iso(case.closed_at), "updated_at": iso(case.updated_at),
        "deadlines": {d.name: d.due.isoformat() for d in case.deadlines},
        "deadline_details": [deadline_dict(d, today) for d in case.deadlines],
        "complainants": [complainant_dict(c, roles) for c in case.complainants],
        "personal_data_masked": not may_see_personal_data(roles),
        "attachments": [
            {"id": a.id, "kind": a.kind, "ref": a.ref, "sha256": a.sha256, "media_type": a.media_type,
             "size": a.size, "filename": a.filename, "note": a.note, "added_by": a.added_by,
             "added_at": iso(a.added_at)}
            for a in case.attachments
        ],
        "referrals": [
            {"id": r.id, "unit": r.unit.code, "unit_name": r.unit.name, "note": r.note,
             "due": r.due.isoformat(), "referred_at": iso(r.referred_at), "referred_by": r.referred_by,
             "reply_text": r.reply_text, "replied_at": iso(r.replied_at), "chase_count": r.chase_count,
             "overdue": r.replied_at is None and today > r.due}
            for r in case.referrals
        ],
        "feedback": [
            {"id": f.id, "complainant_id": f.complainant_id, "channel": f.channel, "template": f.template,
             "text": f.text, "sent_at": iso(f.sent_at), "sent_by": f.sent_by}
            for f in case.feedback
        ],
        "monitoring_requests": [
            {"id": m.id, "source_id": m.source_id, "until": iso(m.until), "reason": m.reason,
             "requested_by": m.requested_by, "requested_at": iso(m.requested_at)}
            for m in case.monitoring
        ],
        "allowed_actions": workflow.available(case.state, roles, facts(case)),
    })
    return out
