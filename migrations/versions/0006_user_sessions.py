"""Server-side sign-in sessions, so sign-out, "sign out everywhere" and password changes end
them for good.

Revision ID: 0006_sessions
Revises: 0005_fair_share
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_sessions"
down_revision = "0005_fair_share"
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = True, now: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.text("now()") if now else None)


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        _timestamp("created_at", nullable=False, now=True),
        _timestamp("expires_at", nullable=False),
        _timestamp("last_seen_at", nullable=False, now=True),
        _timestamp("revoked_at"),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_user_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_user_sessions_secret_hash")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])


def downgrade():
    op.drop_table("user_sessions")
