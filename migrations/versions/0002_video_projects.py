"""Video projects: topic, script and render settings; jobs grouped into pipelines.

Revision ID: 0002_video
Revises: 0001_core
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_video"
down_revision = "0001_core"
branch_labels = None
depends_on = None

FK = "fk_background_jobs_project_id_projects"


def upgrade():
    op.add_column("projects", sa.Column("topic", sa.Text(), nullable=True))
    op.add_column("projects", sa.Column("outline", sa.Text(), nullable=True))
    op.add_column("projects", sa.Column("script", postgresql.JSONB(), nullable=True))
    op.add_column("projects", sa.Column("format", sa.String(length=32),
                                        server_default="landscape-720", nullable=False))
    op.add_column("projects", sa.Column("voice", sa.String(length=64), server_default="silent",
                                        nullable=False))
    op.add_column("projects", sa.Column("theme", postgresql.JSONB(), server_default="{}",
                                        nullable=False))
    op.add_column("projects", sa.Column("music_level", sa.SmallInteger(), server_default="0",
                                        nullable=False))
    op.add_column("projects", sa.Column("burn_subtitles", sa.Boolean(), server_default="true",
                                        nullable=False))
    op.create_check_constraint(op.f("ck_projects_music_level"), "projects",
                               "music_level BETWEEN 0 AND 100")

    op.add_column("background_jobs", sa.Column("pipeline_id", sa.Uuid(), nullable=True))
    op.add_column("background_jobs", sa.Column("pipeline_step", sa.SmallInteger(), nullable=True))
    op.create_index(op.f("ix_background_jobs_pipeline_id"), "background_jobs", ["pipeline_id"])
    # A project's jobs go with it (its files are deleted too).
    op.drop_constraint(FK, "background_jobs", type_="foreignkey")
    op.create_foreign_key(FK, "background_jobs", "projects", ["project_id"], ["id"],
                          ondelete="CASCADE")


def downgrade():
    op.drop_constraint(FK, "background_jobs", type_="foreignkey")
    op.create_foreign_key(FK, "background_jobs", "projects", ["project_id"], ["id"],
                          ondelete="SET NULL")
    op.drop_index(op.f("ix_background_jobs_pipeline_id"), table_name="background_jobs")
    op.drop_column("background_jobs", "pipeline_step")
    op.drop_column("background_jobs", "pipeline_id")
    op.drop_constraint(op.f("ck_projects_music_level"), "projects", type_="check")
    for column in ("burn_subtitles", "music_level", "theme", "voice", "format", "script",
                   "outline", "topic"):
        op.drop_column("projects", column)
