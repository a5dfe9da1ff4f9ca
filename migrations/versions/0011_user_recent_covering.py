"""A user's jobs in the explorer without reading the table: the index of their jobs by
creation carries the columns the filters test (status, task, queue, error code, project,
end time), so a user's counts and the choice of a page are index-only scans.

Built CONCURRENTLY under a new name and swapped in, outside the migration's transaction:
jobs keep being written while a big table's index builds.

Revision ID: 0011_user_recent_covering
Revises: 0010_reconciler_history
Create Date: 2026-12-01
"""

from alembic import op

revision = "0011_user_recent_covering"
down_revision = "0010_reconciler_history"
branch_labels = None
depends_on = None

INDEX, TABLE = "ix_background_jobs_user_recent", "background_jobs"
KEY = ["user_id", "created_at", "id"]
INCLUDE = ["status", "task", "queue", "error_code", "project_id", "ended_at"]


def _swap(include: list[str]) -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}_new")  # a build cut short
        op.create_index(f"{INDEX}_new", TABLE, KEY, postgresql_include=include,
                        postgresql_concurrently=True)
        op.drop_index(INDEX, table_name=TABLE, postgresql_concurrently=True)
        op.execute(f"ALTER INDEX {INDEX}_new RENAME TO {INDEX}")


def upgrade():
    _swap(INCLUDE)


def downgrade():
    _swap([])
