"""The jobs explorer: an index per filter in keyset order (created_at, id), trigram indexes
for the free-text search where PostgreSQL has pg_trgm, and saved views.

Every list of the explorer is `... WHERE <filters> AND (created_at, id) < (cursor) ORDER BY
created_at DESC, id DESC LIMIT n`, so each filter's index ends in (created_at, id): the rows
come out of it in page order and a deep page costs what the first one does. The search
(`q`) is `error ILIKE '%q%' OR <parameter values> ILIKE '%q%' OR id BETWEEN ...`; pg_trgm's
GIN indexes answer the first two. pg_trgm is a contrib extension: managed PostgreSQL
services and Debian's postgresql package have it, the embedded development server
(pgserver) does not, and there the search reads the rows the other filters leave.

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
# The same text as webapp/explorer/search.py PARAMS_TEXT: PostgreSQL uses an expression
# index only for the very same expression.
PARAMS_TEXT = ("(jsonb_path_query_array(params, "
               "'strict $.** ? (@.type() != \"object\" && @.type() != \"array\")')::text)")


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
    op.create_index("ix_background_jobs_ended", JOBS, ["ended_at"],
                    postgresql_where=sa.text("ended_at IS NOT NULL"))
    op.execute(f"CREATE INDEX ix_background_jobs_stage ON {JOBS} "
               "(lower(stage) text_pattern_ops) WHERE stage IS NOT NULL")
    _trigram_indexes()
    _saved_views()


def _trigram_indexes():
    """pg_trgm's indexes for the search, when this server has the extension."""
    bind = op.get_bind()
    available = bind.execute(sa.text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if not available:
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(f"CREATE INDEX ix_background_jobs_error_trgm ON {JOBS} "
               "USING gin (error gin_trgm_ops) WHERE error IS NOT NULL")
    op.execute(f"CREATE INDEX ix_background_jobs_params_trgm ON {JOBS} "
               f"USING gin ({PARAMS_TEXT} gin_trgm_ops)")


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
    # The extension stays: other databases' objects may use it, and it costs nothing.
    op.execute("DROP INDEX IF EXISTS ix_background_jobs_params_trgm")
    op.execute("DROP INDEX IF EXISTS ix_background_jobs_error_trgm")
    for name in ("ix_background_jobs_stage", "ix_background_jobs_ended",
                 "ix_background_jobs_error_code_recent", *NEW):
        op.drop_index(name, table_name=JOBS)
    op.drop_index("ix_background_jobs_recent", table_name=JOBS)
    op.create_index("ix_background_jobs_recent", JOBS, ["created_at"])
    for name, column in WIDENED.items():
        op.drop_index(name, table_name=JOBS)
        op.create_index(name, JOBS, [column, "created_at"])
