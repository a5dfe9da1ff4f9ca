"""Queues an operator paused: workers take no job from them until they are resumed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class QueuePause(db.Model):
    """One paused queue (a row exists only while it is paused). The record; workers read
    its mirror in Redis (webapp/jobs/pauses.py)."""

    __tablename__ = "queue_pauses"

    queue: Mapped[str] = mapped_column(String(64), primary_key=True)
    paused_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                server_default=func.now())
    paused_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # Who, as the page shows it: the admin's email, or the command line's user and host.
    paused_by: Mapped[str] = mapped_column(String(254))

    def __repr__(self) -> str:
        return f"<QueuePause {self.queue} by {self.paused_by}>"
