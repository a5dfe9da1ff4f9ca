"""The jobs explorer: an index per filter in keyset order (created_at, id), a full-text
index for the search, and saved views.

Every list of the explorer is `... WHERE <filters> AND (created_at, id) < (cursor) ORDER BY
created_at DESC, id DESC LIMIT n`, so each filter's index ends in (created_at, id): the rows
come out of it in page order and a deep page costs what the first one does. The search
(`q`) matches the words of the error message and the parameter values (PostgreSQL's own
full-text search, in every server: the embedded development one has no pg_trgm) or a
prefix of the id (a range on the primary key).

Building the indexes locks writes to background_jobs while it runs: about 25 s per million
rows here, most of it the full-text index.

Revision ID: 0007_explorer
Revises: 0006_sessions
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_explorer"
down_revision = "0006_sessions"
branch_labels = None
depends_on = None

JOBS = "background_jobs"
# The keyset indexes that replace 0001's (x, created_at) ones.
WIDENED = {"ix_background_jobs_user_recent": "user_id",
           "ix_background_jobs_status_recent": "status"}
NEW = {"ix_background_jobs_task_recent": "task", "ix_background_jobs_queue_recent": "queue"}
# The SQL of webapp/models/job.py SEARCH_VECTOR: PostgreSQL uses an expression
# index only for the very same expression.
SEARCH_VECTOR = ("(to_tsvector('simple'::regconfig, COALESCE(error, ''::text)) || "
                 "jsonb_to_tsvector('simple'::regconfig, params, "
                 "'[\"string\", \"numeric\"]'::jsonb))")


def upgrade():
    for name, column in WIDENED.items():
        op.drop_index(name, table_name=JOBS)
        op.create_index(name, JOBS, [column, "created_at", "id"])
    op.drop_index("ix_background_jobs_recent", table_name=JOBS)
    op.create_index("ix_background_jobs_recent", JOBS, ["created_at", "id"])
    for name, column in NEW.items():
        op.create_index(name, JOBS, [column, "created_at", "id"])
    op.create_index("ix_background_jobs_error_code_recent", JOBS,
                    ["error_code", "created_at", "id"],
                    postgresql_where=sa.text("error_code IS NOT NULL"))
    # ended_at: 0008_metrics makes ix_background_jobs_ended, which the explorer uses too.
    op.execute(f"CREATE INDEX ix_background_jobs_stage ON {JOBS} "
               "(lower(stage) text_pattern_ops) WHERE stage IS NOT NULL")
    op.execute(f"CREATE INDEX ix_background_jobs_search ON {JOBS} USING gin ({SEARCH_VECTOR})")
    _saved_views()


def _saved_views():
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_saved_views_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_views_user_id")),
    )


def downgrade():
    op.drop_table("saved_views")
    for name in ("ix_background_jobs_search", "ix_background_jobs_stage",
                 "ix_background_jobs_error_code_recent", *NEW):
        op.drop_index(name, table_name=JOBS)
    op.drop_index("ix_background_jobs_recent", table_name=JOBS)
    op.create_index("ix_background_jobs_recent", JOBS, ["created_at"])
    for name, column in WIDENED.items():
        op.drop_index(name, table_name=JOBS)
        op.create_index(name, JOBS, [column, "created_at"])
