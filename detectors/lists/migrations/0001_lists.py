"""lists: negative lists, entries, allow-list, versions (audit)

Revision ID: lists_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "lists_0001"
down_revision = None
branch_labels = ("lists",)
depends_on = None


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "neg_lists",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
    )
    op.create_table(
        "neg_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("neg_lists.id", ondelete="CASCADE"), nullable=False),
        sa.Column("term", sa.String(500), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("severity", sa.String(10), nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        _ts("valid_from", True),
        _ts("valid_until", True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("pinyin", sa.Boolean, nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.UniqueConstraint("list_id", "term", name="uq_neg_entries_list_term"),
    )
    op.create_table(
        "neg_allow",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("neg_lists.id", ondelete="CASCADE"), nullable=True),
        sa.Column("phrase", sa.String(500), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_neg_allow_list", "neg_allow", ["list_id"])
    op.create_table(
        "neg_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list_id", sa.Integer, sa.ForeignKey("neg_lists.id", ondelete="CASCADE"), nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        _ts("created_at"),
    )
    op.create_index("ix_neg_versions_list", "neg_versions", ["list_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_neg_versions_list", table_name="neg_versions")
    op.drop_table("neg_versions")
    op.drop_index("ix_neg_allow_list", table_name="neg_allow")
    op.drop_table("neg_allow")
    op.drop_table("neg_entries")
    op.drop_table("neg_lists")
