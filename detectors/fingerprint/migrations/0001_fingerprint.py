"""fingerprint: lists, clips, frame hashes

Revision ID: fingerprint_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "fingerprint_0001"
down_revision = None
branch_labels = ("fingerprint",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fingerprint_lists",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("threshold", sa.Integer, nullable=False),
        sa.Column("min_run", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "fingerprint_clips",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("list_name", sa.String(128), sa.ForeignKey("fingerprint_lists.name", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("title", sa.String(512), nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("frames", sa.Integer, nullable=False),
        sa.Column("imported_by", sa.String(128), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "fingerprint_frames",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("list_name", sa.String(128), nullable=False, index=True),
        sa.Column("clip_id", sa.String(64), sa.ForeignKey("fingerprint_clips.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("t", sa.Float, nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.Column("quality", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("fingerprint_frames")
    op.drop_table("fingerprint_clips")
    op.drop_table("fingerprint_lists")
