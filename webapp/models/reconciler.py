"""The reconciler's history: one row per pass (and per admin's "check now")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class ReconcilerPass(db.Model):
    """What one reconciler pass repaired, by kind, and what the doctor found right after it.

    A row with `manual` set is an admin's "check now": the doctor's findings, no repairs.
    `disagreements` is None when the check itself could not run (`check_error` says why).
    """

    __tablename__ = "reconciler_passes"
    __table_args__ = (
        Index("ix_reconciler_passes_recent", "ended_at"),
        # The newest automatic pass: how long ago the reconciler last ran.
        Index("ix_reconciler_passes_automatic", "ended_at", postgresql_where=text("NOT manual")),
        # Repairs over a period read only the passes that repaired something.
        Index("ix_reconciler_passes_repairing", "ended_at",
              postgresql_where=text("repairs <> '{}'::jsonb")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    manual: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # {kind: count}: the same kinds as the Redis counters (cutroom:reconciler:repairs).
    repairs: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict,
                                                    server_default=text("'{}'::jsonb"))
    # The step where PostgreSQL failed and the pass stopped early; None: it ran every step.
    broke_off: Mapped[str | None] = mapped_column(String(64))
    disagreements: Mapped[int | None] = mapped_column(Integer)
    problems: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict,
                                                     server_default=text("'{}'::jsonb"))
    # Up to webapp.jobs.history.SAMPLE findings: {job_id, row_status, rq_status, kind}.
    sample: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list,
                                                         server_default=text("'[]'::jsonb"))
    check_error: Mapped[str | None] = mapped_column(String(200))
