"""Fair sharing: per-user limits that admins can raise, and jobs held back in PostgreSQL
while their owner already has as many as allowed in the workers' hands.

Revision ID: 0005_fair_share
Revises: 0004_audit
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_fair_share"
down_revision = "0004_audit"
branch_labels = None
depends_on = None

LIMIT_COLUMNS = ("max_running_jobs", "max_waiting_jobs", "max_projects", "max_render_seconds")
ACTIVE = "status IN ('created', 'queued', 'deferred', 'scheduled', 'started')"


def upgrade():
    for name in LIMIT_COLUMNS:
        op.add_column("users", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("submit_rate", sa.String(length=64), nullable=True))
    op.add_column("background_jobs", sa.Column("held", sa.Boolean(), server_default="false",
                                               nullable=False))
    op.create_index("ix_background_jobs_user_active", "background_jobs",
                    ["user_id", "created_at"], postgresql_where=sa.text(ACTIVE))


def downgrade():
    op.drop_index("ix_background_jobs_user_active", table_name="background_jobs")
    op.drop_column("background_jobs", "held")
    op.drop_column("users", "submit_rate")
    for name in reversed(LIMIT_COLUMNS):
        op.drop_column("users", name)
