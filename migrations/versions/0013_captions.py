"""Caption settings per project: style (plain, bold outline, box, the current word
highlighted), position (bottom, middle, top) and size; {} is the look renders had before.

Revision ID: 0013_captions
Revises: 0012_narration_speed
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_captions"
down_revision = "0012_narration_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("captions", postgresql.JSONB(), server_default="{}",
                                        nullable=False))


def downgrade() -> None:
    op.drop_column("projects", "captions")
