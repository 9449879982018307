"""ingest: source registry, sampling boosts, health, crawl state

Revision ID: ingest_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "ingest_0001"
down_revision = None
branch_labels = ("ingest",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_sources",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("operator", sa.String(256), nullable=False, server_default=""),
        sa.Column("licence", sa.String(128), nullable=False, server_default=""),
        sa.Column("locator", sa.Text, nullable=False),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("schedule", sa.String(64), nullable=False, server_default=""),
        sa.Column("language", sa.String(16), nullable=False, server_default="zh"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ingest_boosts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(64), nullable=True, index=True),
        sa.Column("tag", sa.String(64), nullable=True, index=True),
        sa.Column("factor", sa.Float, nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ingest_health",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False, server_default="idle"),
        sa.Column("last_sample_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("samples_total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("errors_total", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "ingest_state",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("key_hash", sa.String(40), primary_key=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ingest_state")
    op.drop_table("ingest_health")
    op.drop_table("ingest_boosts")
    op.drop_table("ingest_sources")
