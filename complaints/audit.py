"""Append-only audit log per case, chained by SHA-256.

Each row holds the previous row's hash (``prev_hash``; the first row of a case
chains from 64 zeros) and its own hash over the previous hash and its
canonical content (case, sequence number, who, when, action, before, after,
why). Changing, deleting or reordering any row breaks the chain from that
row on; ``verify_chain`` finds the first broken row.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from complaints.models import AuditEntry
from core.events import as_utc

GENESIS = "0" * 64


def _canon(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _iso(at: datetime) -> str:
    return as_utc(at).isoformat(timespec="microseconds")


def entry_hash(prev_hash: str, case_id: int, seq: int, actor: str, at: datetime, action: str,
               before: str, after: str, reason: str) -> str:
    body = _canon([prev_hash, case_id, seq, actor, _iso(at), action, before, after, reason])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def append(session: Session, case_id: int, *, actor: str, action: str, before: dict[str, Any] | None,
           after: dict[str, Any] | None, reason: str = "", at: datetime | None = None) -> AuditEntry:
    """Add one row at the end of the case's chain (within the caller's transaction)."""
    at = (at or datetime.now(UTC)).astimezone(UTC)
    last = session.execute(
        select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.seq.desc()).limit(1)
    ).scalar_one_or_none()
    seq = (last.seq + 1) if last else 1
    prev = last.hash if last else GENESIS
    b, a = _canon(before or {}), _canon(after or {})
    row = AuditEntry(case_id=case_id, seq=seq, actor=actor, at=at, action=action, before=b, after=a,
                     reason=reason or "", prev_hash=prev,
                     hash=entry_hash(prev, case_id, seq, actor, at, action, b, a, reason or ""))
    session.add(row)
    session.flush()
    return row


@dataclass
class ChainReport:
    ok: bool
    entries: int
    broken_at: int | None = None  # seq of the first bad row
    problem: str = ""


def verify_chain(session: Session, case_id: int) -> ChainReport:
    rows = session.execute(
        select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.seq)
    ).scalars().all()
    prev = GENESIS
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return ChainReport(False, len(rows), row.seq, f"row {expected_seq} is missing")
        if row.prev_hash != prev:
            return ChainReport(False, len(rows), row.seq, "previous-hash link does not match")
        h = entry_hash(prev, row.case_id, row.seq, row.actor, row.at, row.action, row.before, row.after,
                       row.reason)
        if h != row.hash:
            return ChainReport(False, len(rows), row.seq, "row content does not match its hash")
        prev = row.hash
    return ChainReport(True, len(rows))


def timeline(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AuditEntry).where(AuditEntry.case_id == case_id).order_by(AuditEntry.seq)
    ).scalars().all()
    return [
        {"seq": r.seq, "actor": r.actor, "at": _iso(r.at), "action": r.action,
         "before": json.loads(r.before), "after": json.loads(r.after), "reason": r.reason, "hash": r.hash}
        for r in rows
    ]
