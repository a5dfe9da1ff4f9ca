"""Stock media per project: where scenes without a picture or clip of their own find one
("" for nowhere, "pexels" or "pixabay") and which kind ("picture" or "clip").

Revision ID: 0015_stock_media
Revises: 0014_media_files
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_stock_media"
down_revision = "0014_media_files"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("projects", sa.Column("stock_provider", sa.String(16), server_default="",
                                        nullable=False))
    op.add_column("projects", sa.Column("stock_kind", sa.String(8), server_default="picture",
                                        nullable=False))
    op.create_check_constraint(op.f("ck_projects_stock_kind"), "projects",
                               "stock_kind IN ('picture', 'clip')")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_projects_stock_kind"), "projects", type_="check")
    op.drop_column("projects", "stock_kind")
    op.drop_column("projects", "stock_provider")
