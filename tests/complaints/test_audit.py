import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DatabaseError

from complaints import audit
from complaints.models import AuditEntry
from tests.complaints.conftest import new_case


def _drop_guards(db):
    """What a privileged attacker would do first: remove the append-only triggers."""
    with db.session() as s:
        if db.engine.dialect.name == "postgresql":
            s.execute(text("DROP TRIGGER complaint_audit_append_only ON complaint_audit"))
        else:
            s.execute(text("DROP TRIGGER complaint_audit_no_update"))
            s.execute(text("DROP TRIGGER complaint_audit_no_delete"))


def _walk(handler, supervisor):
    case = new_case(handler)
    handler.act(case["id"], "accept")
    supervisor.act(case["id"], "assign", user="zhang")
    handler.act(case["id"], "verify")
    return case["id"]


def test_every_change_is_audited_with_who_what_before_after(db, handler, supervisor):
    cid = _walk(handler, supervisor)
    rows = handler.timeline(cid)
    assert [r["action"] for r in rows] == ["register", "accept", "assign", "verify"]
    assert rows[1]["actor"] == "zhang" and rows[2]["actor"] == "li"
    assert rows[1]["before"]["state"] == "registered" and rows[1]["after"]["state"] == "accepted"
    assert rows[2]["after"]["assignee"] == "zhang"
    assert handler.verify_audit(cid).ok


def test_audit_rows_cannot_be_changed_or_deleted(db, handler, supervisor):
    cid = _walk(handler, supervisor)
    with pytest.raises(DatabaseError):
        with db.session() as s:
            s.execute(update(AuditEntry).where(AuditEntry.case_id == cid).values(actor="x"))
    with pytest.raises(DatabaseError):
        with db.session() as s:
            s.execute(text("DELETE FROM complaint_audit"))
    assert handler.verify_audit(cid).ok and len(handler.timeline(cid)) == 4


def test_changed_row_breaks_the_chain(db, handler, supervisor):
    cid = _walk(handler, supervisor)
    _drop_guards(db)
    with db.session() as s:
        s.execute(update(AuditEntry).where(AuditEntry.case_id == cid, AuditEntry.seq == 3)
                  .values(actor="someone-else"))
    report = handler.verify_audit(cid)
    assert not report.ok and report.broken_at == 3


def test_deleted_row_breaks_the_chain(db, handler, supervisor):
    cid = _walk(handler, supervisor)
    _drop_guards(db)
    with db.session() as s:
        row = s.execute(select(AuditEntry).where(AuditEntry.case_id == cid, AuditEntry.seq == 2)).scalar_one()
        s.delete(row)
    report = handler.verify_audit(cid)
    assert not report.ok and report.broken_at == 3


def test_rewritten_row_with_recomputed_hash_still_detected_downstream(db, handler, supervisor):
    cid = _walk(handler, supervisor)
    _drop_guards(db)
    with db.session() as s:
        row = s.execute(select(AuditEntry).where(AuditEntry.case_id == cid, AuditEntry.seq == 2)).scalar_one()
        row.reason = "forged"
        row.hash = audit.entry_hash(row.prev_hash, row.case_id, row.seq, row.actor, row.at, row.action,
                                    row.before, row.after, row.reason)
    report = handler.verify_audit(cid)
    assert not report.ok and report.broken_at == 3  # the next row's prev_hash no longer matches


def test_show_reports_chain_state(db, handler, supervisor):
    cid = _walk(handler, supervisor)
    assert handler.show(cid)["audit"]["ok"] is True
