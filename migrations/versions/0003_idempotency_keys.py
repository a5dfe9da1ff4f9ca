"""Idempotency keys on jobs: the same key from the same user returns the first job.

Revision ID: 0003_idempotency
Revises: 0002_video
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_idempotency"
down_revision = "0002_video"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("background_jobs",
                  sa.Column("idempotency_key", sa.String(length=200), nullable=True))
    op.create_index("uq_background_jobs_idempotency", "background_jobs",
                    ["user_id", "idempotency_key"], unique=True,
                    postgresql_where=sa.text("idempotency_key IS NOT NULL"))


def downgrade():
    op.drop_index("uq_background_jobs_idempotency", table_name="background_jobs")
    op.drop_column("background_jobs", "idempotency_key")
