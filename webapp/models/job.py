"""The record of every background job: PostgreSQL is the source of truth for its state."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from rq.job import JobStatus
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.user import User

# The RQ states a Cutroom job can be in, in lifecycle order.
STATUSES: tuple[JobStatus, ...] = (
    JobStatus.CREATED,
    JobStatus.QUEUED,
    JobStatus.DEFERRED,
    JobStatus.SCHEDULED,
    JobStatus.STARTED,
    JobStatus.FINISHED,
    JobStatus.FAILED,
    JobStatus.STOPPED,
    JobStatus.CANCELED,
)
# The status names as plain strings (SQL parameters must be the values, never the Enum
# members); everything else spells a status through these.
CREATED = JobStatus.CREATED.value
QUEUED = JobStatus.QUEUED.value
DEFERRED = JobStatus.DEFERRED.value
SCHEDULED = JobStatus.SCHEDULED.value
STARTED = JobStatus.STARTED.value
FINISHED = JobStatus.FINISHED.value
FAILED = JobStatus.FAILED.value
STOPPED = JobStatus.STOPPED.value
CANCELED = JobStatus.CANCELED.value

FINAL_STATUSES = frozenset({FINISHED, FAILED, STOPPED, CANCELED})
ACTIVE_STATUSES = frozenset(s.value for s in STATUSES) - FINAL_STATUSES
# Not started yet: in RQ's queue, held, waiting on an earlier stage, or on a retry's delay.
WAITING = frozenset({CREATED, QUEUED, DEFERRED, SCHEDULED})
# Ended without a result, so it may run again.
RETRYABLE = frozenset({FAILED, STOPPED, CANCELED})
# Ended badly, with an error message worth showing.
ENDED_BADLY = frozenset({FAILED, STOPPED})
# Why a job failed (the `error_code` column), as ARCHITECTURE.md lists them.
ERROR_CODES = ("exception", "timeout", "killed", "abandoned", "enqueue_failed", "lost")

_status_list = ", ".join(f"'{s.value}'" for s in STATUSES)
_active_list = ", ".join(f"'{s.value}'" for s in STATUSES if s.value in ACTIVE_STATUSES)


USER_RECENT_INCLUDE = ("status", "task", "queue", "error_code", "project_id", "ended_at")


class BackgroundJob(db.Model):
    """One job: its parameters, live progress and final outcome."""

    __tablename__ = "background_jobs"
    __table_args__ = (
        CheckConstraint(f"status IN ({_status_list})", name="status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        # Keyset pages of the jobs explorer (newest first: created_at, then id), each filter
        # with an index that yields its rows already in that order (migration 0007).
        # A user's own: the filters of the explorer are in it too, so counting a user's
        # jobs of a status, task, queue, error code, project or end time, and finding which
        # are on the page, never reads the table (migration 0011).
        Index("ix_background_jobs_user_recent", "user_id", "created_at", "id",
              postgresql_include=list(USER_RECENT_INCLUDE)),
        Index("ix_background_jobs_status_recent", "status", "created_at", "id"),
        Index("ix_background_jobs_recent", "created_at", "id"),
        Index("ix_background_jobs_task_recent", "task", "created_at", "id"),
        Index("ix_background_jobs_queue_recent", "queue", "created_at", "id"),
        Index("ix_background_jobs_error_code_recent", "error_code", "created_at", "id",
              postgresql_where=text("error_code IS NOT NULL")),
        # Each user's unfinished jobs: counted on every submit, searched for held ones.
        Index("ix_background_jobs_user_active", "user_id", "created_at",
              postgresql_where=text(f"status IN ({_active_list})")),
        # Jobs that ended, by when: the metrics of short windows and the hourly rollup read
        # it without touching the table (webapp/jobs/rollup.py); the explorer's ended filter.
        Index("ix_background_jobs_ended", "ended_at",
              postgresql_include=["status", "task", "queue", "enqueued_at", "started_at",
                                  "created_at"],
              postgresql_where=text("ended_at IS NOT NULL")),
        # Each queue's waiting, scheduled and running counts and its oldest waiting job
        # (the queues page, GET /api/v1/queues), and its failures of the last day.
        Index("ix_background_jobs_queue_active", "queue", "status", "held", "enqueued_at",
              "created_at", postgresql_where=text(f"status IN ({_active_list})")),
        Index("ix_background_jobs_failed_recent", "ended_at", "queue",
              postgresql_where=text(f"status = '{FAILED}'")),
        # One job per (user, Idempotency-Key); keys are forgotten after IDEMPOTENCY_TTL_HOURS.
        Index("uq_background_jobs_idempotency", "user_id", "idempotency_key", unique=True,
              postgresql_where=text("idempotency_key IS NOT NULL")),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    task: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.CREATED.value)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    result: Mapped[Any | None] = mapped_column(JSONB(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))
    traceback: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    progress: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    stage: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    # Stages of one render share a pipeline id; step orders them (0, 1, 2, ...).
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    pipeline_step: Mapped[int | None] = mapped_column(SmallInteger)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # Waiting in PostgreSQL, not yet handed to RQ: its owner has as many jobs running as
    # allowed (webapp/jobs/admission.py). Such a row is `queued` (or `deferred` for the later
    # stages of a render) and has no RQ job until it is dispatched.
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    worker_name: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    user: Mapped[User] = relationship()

    @property
    def is_final(self) -> bool:
        """True once the job can no longer change state on its own."""
        return self.status in FINAL_STATUSES

    @property
    def is_waiting(self) -> bool:
        """Not started yet (queued, held, deferred or scheduled)."""
        return self.status in WAITING

    @property
    def awaits_worker(self) -> bool:
        """Created or queued: in line for a worker (not on an earlier stage or a delay)."""
        return self.status in (CREATED, QUEUED)

    @property
    def awaits_retry(self) -> bool:
        """An attempt failed and the job waits to run again (queued, or on a retry's delay)."""
        return bool(self.error) and self.status in (QUEUED, SCHEDULED)

    @property
    def is_running(self) -> bool:
        """In a worker's hands (started), whether or not it was asked to stop."""
        return self.status == STARTED

    @property
    def is_stopping(self) -> bool:
        """Running, and asked to stop: its worker has not confirmed yet."""
        return self.is_running and self.cancel_requested_at is not None

    @property
    def is_finished(self) -> bool:
        """Ended with a result."""
        return self.status == FINISHED

    @property
    def ended_badly(self) -> bool:
        """Failed or stopped: ended without a result, with an error worth showing."""
        return self.status in ENDED_BADLY

    @property
    def is_failed(self) -> bool:
        """Ended with an error (the only final state shown as one)."""
        return self.status == FAILED

    @property
    def is_stopped(self) -> bool:
        """Stopped while running: someone asked (cancel_requested_at), it is not a failure."""
        return self.status == STOPPED

    @property
    def stopped_on_request(self) -> bool:
        """Stopped, and the stop was asked for through Cutroom (the page, the API, /rq)."""
        return self.is_stopped and self.cancel_requested_at is not None

    @property
    def is_canceled(self) -> bool:
        """Canceled before it started (by someone, or because an earlier stage ended)."""
        return self.status == CANCELED

    @property
    def is_render_stage(self) -> bool:
        """One stage of a project's render: acted on through its project, not alone."""
        return self.pipeline_id is not None

    @property
    def can_cancel(self) -> bool:
        """Waiting (it is canceled) or running and not yet asked to stop (it is stopped)."""
        return not self.is_final and not self.is_stopping

    @property
    def can_retry(self) -> bool:
        return self.status in RETRYABLE and not self.is_render_stage

    @property
    def can_delete(self) -> bool:
        return self.is_final and not self.is_render_stage

    @classmethod
    def allows(cls, action: str) -> ColumnElement[bool]:
        """can_cancel, can_retry or can_delete as SQL, for actions on many jobs at once."""
        if action == "cancel":
            return cls.status.notin_(sorted(FINAL_STATUSES)) & (
                (cls.status != STARTED) | cls.cancel_requested_at.is_(None))
        allowed = RETRYABLE if action == "retry" else FINAL_STATUSES
        return cls.status.in_(sorted(allowed)) & cls.pipeline_id.is_(None)

    @property
    def rq_id(self) -> str:
        """The RQ job id: the row's id as text."""
        return str(self.id)

    def __repr__(self) -> str:
        return f"<BackgroundJob {self.id} {self.task} {self.status}>"


# The explorer's stage filter is a case-insensitive prefix: lower(stage) LIKE 'narrat%'.
Index("ix_background_jobs_stage", func.lower(BackgroundJob.stage).label("stage_lower"),
      postgresql_ops={"stage_lower": "text_pattern_ops"},
      postgresql_where=BackgroundJob.stage.isnot(None))

# The explorer's free-text search: the words of the error message and of the parameter values
# (not their keys), by PostgreSQL's own full-text search, which every server has (the
# embedded development one has no pg_trgm). Queries use this very expression, which is what
# lets PostgreSQL use its GIN index.
SIMPLE = text("'simple'::regconfig")
SEARCH_VECTOR = func.to_tsvector(
    SIMPLE, func.coalesce(BackgroundJob.error, text("''::text"))).op("||")(
    func.jsonb_to_tsvector(SIMPLE, BackgroundJob.params,
                           text("'[\"string\", \"numeric\"]'::jsonb")))
Index("ix_background_jobs_search", SEARCH_VECTOR, postgresql_using="gin")
