"""Narration speed per project: 0.75x to 1.5x of the voice's own pace, for every voice.

Revision ID: 0012_narration_speed
Revises: 0011_user_recent_covering
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_narration_speed"
down_revision = "0011_user_recent_covering"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A constant default: PostgreSQL adds the column without rewriting the table.
    op.add_column("projects", sa.Column("narration_speed", sa.Float(), server_default="1",
                                        nullable=False))
    op.create_check_constraint(op.f("ck_projects_narration_speed"), "projects",
                               "narration_speed BETWEEN 0.75 AND 1.5")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_projects_narration_speed"), "projects", type_="check")
    op.drop_column("projects", "narration_speed")
