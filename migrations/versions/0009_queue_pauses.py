"""Queue pauses (an operator stops workers taking jobs from one queue), and the indexes
behind each queue's counts.

Revision ID: 0009_queue_pauses
Revises: 0008_metrics
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_queue_pauses"
down_revision = "0008_metrics"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('created', 'queued', 'deferred', 'scheduled', 'started')"


def upgrade():
    op.create_table(
        "queue_pauses",
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.Column("paused_by_id", sa.Integer(), nullable=True),
        sa.Column("paused_by", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(["paused_by_id"], ["users.id"],
                                name=op.f("fk_queue_pauses_paused_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("queue", name=op.f("pk_queue_pauses")),
    )
    op.create_index("ix_background_jobs_queue_active", "background_jobs",
                    ["queue", "status", "held", "enqueued_at", "created_at"],
                    postgresql_where=sa.text(ACTIVE))
    op.create_index("ix_background_jobs_failed_recent", "background_jobs",
                    ["ended_at", "queue"], postgresql_where=sa.text("status = 'failed'"))


def downgrade():
    op.drop_index("ix_background_jobs_failed_recent", table_name="background_jobs")
    op.drop_index("ix_background_jobs_queue_active", table_name="background_jobs")
    op.drop_table("queue_pauses")
