"""core: alerts, alert hits, alert actions

Revision ID: core_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0001"
down_revision = None
branch_labels = ("core",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("key_source", sa.String(128), nullable=False, index=True),
        sa.Column("key_rule", sa.String(256), nullable=False, index=True),
        sa.Column("source_id", sa.String(128), nullable=False, index=True),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("detector", sa.String(64), nullable=False, index=True),
        sa.Column("category", sa.String(64), nullable=False, index=True),
        sa.Column("list_name", sa.String(128), nullable=True, index=True),
        sa.Column("term", sa.String(512), nullable=True),
        sa.Column("entry_id", sa.String(128), nullable=True),
        sa.Column("last_hit_id", sa.String(64), nullable=True),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("seq", sa.Integer, nullable=False, index=True),
    )
    op.create_table(
        "alert_hits",
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("hit_id", sa.String(64), primary_key=True, index=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "alert_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(64), nullable=False, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("before", sa.String(16), nullable=False),
        sa.Column("after", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extra", sa.JSON, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("alert_actions")
    op.drop_table("alert_hits")
    op.drop_table("alerts")
