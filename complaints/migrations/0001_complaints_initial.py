"""complaints: initial tables (cases, complainants, attachments, units, referrals,
feedback, deadlines, monitoring requests, audit log).

Revision ID: complaints_0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "complaints_0001"
down_revision = None
branch_labels = ("complaints",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "complaint_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "seq"),
    )
    op.create_index(op.f("ix_complaint_audit_case_id"), "complaint_audit", ["case_id"], unique=False)
    op.create_table(
        "complaint_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tracking_code", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("target_key", sa.String(length=200), nullable=False),
        sa.Column("target_platform", sa.String(length=200), nullable=False),
        sa.Column("target_program", sa.String(length=200), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("target_account", sa.String(length=200), nullable=False),
        sa.Column("target_source_id", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("registered_by", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=False),
        sa.Column("reject_reason", sa.String(length=40), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("outcome_basis", sa.Text(), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_reason", sa.Text(), nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["complaint_cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tracking_code"),
    )
    op.create_index(op.f("ix_complaint_cases_assignee"), "complaint_cases", ["assignee"], unique=False)
    op.create_index("ix_case_assignee_id", "complaint_cases", ["assignee", "id"], unique=False)
    op.create_index(op.f("ix_complaint_cases_category"), "complaint_cases", ["category"], unique=False)
    op.create_index(
        op.f("ix_complaint_cases_registered_at"), "complaint_cases", ["registered_at"], unique=False
    )
    op.create_index(op.f("ix_complaint_cases_state"), "complaint_cases", ["state"], unique=False)
    op.create_index(op.f("ix_complaint_cases_target_key"), "complaint_cases", ["target_key"], unique=False)
    op.create_index(op.f("ix_complaint_cases_updated_at"), "complaint_cases", ["updated_at"], unique=False)
    op.create_table(
        "complaint_units",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "complaint_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_complaint_attachments_case_id"), "complaint_attachments", ["case_id"], unique=False
    )
    op.create_table(
        "complaint_complainants",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("original_case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("id_number", sa.String(length=50), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_complaint_complainants_case_id"), "complaint_complainants", ["case_id"], unique=False
    )
    op.create_table(
        "complaint_deadlines",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "name"),
    )
    op.create_index(op.f("ix_complaint_deadlines_case_id"), "complaint_deadlines", ["case_id"], unique=False)
    op.create_index("ix_deadline_open", "complaint_deadlines", ["met_at", "due"], unique=False)
    op.create_table(
        "complaint_monitoring",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.String(length=100), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_complaint_monitoring_case_id"), "complaint_monitoring", ["case_id"], unique=False
    )
    op.create_table(
        "complaint_referrals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("referred_by", sa.String(length=100), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("chase_count", sa.Integer(), nullable=False),
        sa.Column("last_chased_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["unit_id"],
            ["complaint_units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_complaint_referrals_case_id"), "complaint_referrals", ["case_id"], unique=False)
    op.create_table(
        "complaint_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("complainant_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["complaint_cases.id"],
        ),
        sa.ForeignKeyConstraint(
            ["complainant_id"],
            ["complaint_complainants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_complaint_feedback_case_id"), "complaint_feedback", ["case_id"], unique=False)


    _append_only_audit()


def _append_only_audit() -> None:
    """The audit log refuses UPDATE and DELETE (tampering needs a privileged user; the hash chain shows it)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION complaint_audit_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'complaint_audit is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER complaint_audit_append_only BEFORE UPDATE OR DELETE ON complaint_audit "
            "FOR EACH ROW EXECUTE FUNCTION complaint_audit_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER complaint_audit_no_{verb.lower()} BEFORE {verb} ON complaint_audit "
                "BEGIN SELECT RAISE(ABORT, 'complaint_audit is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS complaint_audit_append_only ON complaint_audit")
        op.execute("DROP FUNCTION IF EXISTS complaint_audit_append_only()")
    op.drop_index(op.f("ix_complaint_feedback_case_id"), table_name="complaint_feedback")
    op.drop_table("complaint_feedback")
    op.drop_index(op.f("ix_complaint_referrals_case_id"), table_name="complaint_referrals")
    op.drop_table("complaint_referrals")
    op.drop_index(op.f("ix_complaint_monitoring_case_id"), table_name="complaint_monitoring")
    op.drop_table("complaint_monitoring")
    op.drop_index("ix_deadline_open", table_name="complaint_deadlines")
    op.drop_index(op.f("ix_complaint_deadlines_case_id"), table_name="complaint_deadlines")
    op.drop_table("complaint_deadlines")
    op.drop_index(op.f("ix_complaint_complainants_case_id"), table_name="complaint_complainants")
    op.drop_table("complaint_complainants")
    op.drop_index(op.f("ix_complaint_attachments_case_id"), table_name="complaint_attachments")
    op.drop_table("complaint_attachments")
    op.drop_table("complaint_units")
    op.drop_index(op.f("ix_complaint_cases_updated_at"), table_name="complaint_cases")
    op.drop_index(op.f("ix_complaint_cases_target_key"), table_name="complaint_cases")
    op.drop_index(op.f("ix_complaint_cases_state"), table_name="complaint_cases")
    op.drop_index(op.f("ix_complaint_cases_registered_at"), table_name="complaint_cases")
    op.drop_index(op.f("ix_complaint_cases_category"), table_name="complaint_cases")
    op.drop_index(op.f("ix_complaint_cases_assignee"), table_name="complaint_cases")
    op.drop_table("complaint_cases")
    op.drop_index(op.f("ix_complaint_audit_case_id"), table_name="complaint_audit")
    op.drop_table("complaint_audit")
