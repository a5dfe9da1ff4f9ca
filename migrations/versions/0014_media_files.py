"""Uploaded media: a picture or clip per scene (named by id in the script), a music track
per project.

Revision ID: 0014_media_files
Revises: 0013_captions
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_media_files"
down_revision = "0013_captions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "media_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("width", sa.Integer()),
        sa.Column("height", sa.Integer()),
        sa.Column("duration", sa.Float()),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_files")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE",
                                name=op.f("fk_media_files_project_id_projects")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name=op.f("fk_media_files_user_id_users")),
        sa.UniqueConstraint("key", name=op.f("uq_media_files_key")),
        sa.CheckConstraint("kind IN ('image', 'clip', 'music')", name=op.f("ck_media_files_kind")),
        sa.CheckConstraint("size >= 0", name=op.f("ck_media_files_size")),
    )
    op.create_index("ix_media_files_project_id", "media_files", ["project_id"])
    op.create_index("ix_media_files_user_id", "media_files", ["user_id"])
    op.create_index("media_files_one_music", "media_files", ["project_id"], unique=True,
                    postgresql_where=sa.text("kind = 'music'"))


def downgrade() -> None:
    op.drop_table("media_files")
