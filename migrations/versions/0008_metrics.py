"""Metrics: an index over ended jobs (the charts of short windows and Prometheus read it
index-only) and the hourly rollup the reconciler keeps for long windows.

Revision ID: 0008_metrics
Revises: 0007_explorer
Create Date: 2026-12-02

Building the index locks writes to background_jobs while it runs: about a second per
million rows.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008_metrics"
down_revision = "0007_explorer"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_background_jobs_ended", "background_jobs", ["ended_at"],
                    postgresql_include=["status", "task", "queue", "enqueued_at", "started_at",
                                        "created_at"],
                    postgresql_where=sa.text("ended_at IS NOT NULL"))
    op.create_table(
        "job_metrics_hourly",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("wait_counts", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("run_counts", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("wait_sum", sa.Float(), nullable=False),
        sa.Column("run_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "task", "queue", name=op.f("pk_job_metrics_hourly")),
    )


def downgrade():
    op.drop_table("job_metrics_hourly")
    op.drop_index("ix_background_jobs_ended", table_name="background_jobs")
