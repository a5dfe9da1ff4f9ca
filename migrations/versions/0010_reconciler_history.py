"""The reconciler's pass history: repairs by kind and the doctor's findings after each pass,
for the consistency panel and the admins' banner.

Revision ID: 0010_reconciler_history
Revises: 0009_queue_pauses
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_reconciler_history"
down_revision = "0009_queue_pauses"
branch_labels = None
depends_on = None


def _jsonb(name: str, default: str) -> sa.Column:
    return sa.Column(name, postgresql.JSONB(), nullable=False,
                     server_default=sa.text(f"'{default}'::jsonb"))


def upgrade():
    op.create_table(
        "reconciler_passes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("manual", sa.Boolean(), server_default="false", nullable=False),
        _jsonb("repairs", "{}"),
        sa.Column("broke_off", sa.String(length=64), nullable=True),
        sa.Column("disagreements", sa.Integer(), nullable=True),
        _jsonb("problems", "{}"),
        _jsonb("sample", "[]"),
        sa.Column("check_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciler_passes")),
    )
    op.create_index("ix_reconciler_passes_recent", "reconciler_passes", ["ended_at"])
    op.create_index("ix_reconciler_passes_automatic", "reconciler_passes", ["ended_at"],
                    postgresql_where=sa.text("NOT manual"))
    op.create_index("ix_reconciler_passes_repairing", "reconciler_passes", ["ended_at"],
                    postgresql_where=sa.text("repairs <> '{}'::jsonb"))


def downgrade():
    op.drop_table("reconciler_passes")
