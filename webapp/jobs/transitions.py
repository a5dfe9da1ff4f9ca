"""Every change of a job's state, as one conditional UPDATE.

Each function names the states it may move from; a late or duplicate event (a retry's
callback, a sweep after success) matches no row and changes nothing, so terminal states
stay terminal. Functions return True when the row changed. They do not commit: the edge
(web request, worker, callback) commits once, and live pages hear of the change once it has
(webapp/jobs/changes.py: each move notes the job's owner; a heartbeat, which no card shows,
does not).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Float, and_, bindparam, cast, func, or_, select, update

from webapp.extensions import db
from webapp.jobs.changes import OWNERS_NOTED, note_owners

# The status names and sets live with the model; they are re-exported here, where the moves
# between them are.
from webapp.models import (  # noqa: F401
    ACTIVE_STATUSES,
    CANCELED,
    CREATED,
    DEFERRED,
    FAILED,
    FINAL_STATUSES,
    FINISHED,
    QUEUED,
    RETRYABLE,
    SCHEDULED,
    STARTED,
    STOPPED,
    WAITING,
    BackgroundJob,
)

MAX_ERROR_CHARS = 2000
MAX_TRACEBACK_CHARS = 20000


def _as_uuid(job_id: uuid.UUID | str) -> uuid.UUID:
    return job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))


# Core table, not the ORM entity: an ORM-enabled UPDATE costs several times more Python per
# call, and the worker makes two of these per job.
_jobs = BackgroundJob.__table__


def _move(job_id: uuid.UUID | str, allowed_from: frozenset[str], *also: Any,
          shown: bool = True, **values: Any) -> bool:
    stmt = (
        update(_jobs)
        .where(_jobs.c.id == _as_uuid(job_id), _jobs.c.status.in_(sorted(allowed_from)), *also)
        .values(updated_at=func.now(), **values)
    )
    options = {OWNERS_NOTED: True}
    if not shown:  # nothing a page shows: no owner to note
        return db.session.execute(stmt, execution_options=options).rowcount == 1
    owners = db.session.scalars(stmt.returning(_jobs.c.user_id),
                                execution_options=options).all()
    note_owners(db.session, owners)
    return len(owners) == 1


def current_status(job_id: uuid.UUID | str) -> str | None:
    """The row's status, or None when there is no such row."""
    stmt = select(BackgroundJob.status).where(BackgroundJob.id == _as_uuid(job_id))
    return db.session.execute(stmt).scalar_one_or_none()


def mark_queued(job_id: uuid.UUID | str, status: str = QUEUED) -> bool:
    """created -> queued (or deferred, when it waits on dependencies), after RQ took it."""
    return _move(job_id, frozenset({CREATED}), status=status, enqueued_at=func.now())


def mark_held(job_id: uuid.UUID | str, status: str, reason: str) -> bool:
    """created -> queued (or deferred) without going to RQ: its owner has no free slot."""
    return _move(job_id, frozenset({CREATED}), status=status, held=True, stage=reason[:200])


def mark_dispatched(job_id: uuid.UUID | str, status: str) -> bool:
    """held -> queued (or deferred) in RQ: a slot of its owner's came free."""
    return _move(job_id, frozenset({QUEUED, DEFERRED}), _jobs.c.held.is_(True), status=status,
                 held=False, stage=None, enqueued_at=func.now())


def mark_requeued(job_id: uuid.UUID | str, status: str = QUEUED) -> bool:
    """waiting -> queued (or deferred): the reconciler put a job Redis had lost back."""
    return _move(job_id, WAITING, status=status, enqueued_at=func.now())


def mark_enqueue_failed(job_id: uuid.UUID | str, message: str,
                        allowed_from: str = CREATED) -> bool:
    """created (or a new row inserted queued, not held) -> failed/enqueue_failed: Redis did
    not take the job."""
    return _move(
        job_id,
        frozenset({allowed_from}),
        _jobs.c.held.is_(False),
        status=FAILED,
        error=message[:MAX_ERROR_CHARS],
        error_code="enqueue_failed",
        ended_at=func.now(),
    )


# Built once: the forking worker runs it before every job, and building an UPDATE costs
# more Python than running it. `at` (a time.time(), or NULL for now) is when the worker
# started the job, when it records that later (batched.py): the same mark applied twice
# then counts the attempt once, and a started row takes only a newer start (one a killed
# worker handed over, applied once the reconciler moved its list on, is older).
_AT = cast(bindparam("at"), Float)
_START_AT = func.coalesce(func.to_timestamp(_AT), func.now())
_START = (
    update(_jobs)
    .where(_jobs.c.id == bindparam("job_id"),
           _jobs.c.status.in_(bindparam("allowed", expanding=True)),
           or_(_AT.is_(None),
               and_(_jobs.c.started_at.is_distinct_from(_START_AT),
                    or_(_jobs.c.status != STARTED, _jobs.c.started_at.is_(None),
                        _jobs.c.started_at < _START_AT))))
    .values(updated_at=func.now(), status=STARTED, attempt=_jobs.c.attempt + 1,
            started_at=_START_AT, heartbeat_at=func.now(), worker_name=bindparam("worker"),
            progress=0, stage=None)
    .returning(_jobs.c.user_id)
)


def mark_started(job_id: uuid.UUID | str, worker_name: str, at: float | None = None) -> bool:
    """waiting -> started, counting the attempt; False if the row is final or missing.

    started -> started too: RQ hands a job out again only when it holds the previous
    execution for dead (its worker vanished), and then this is a new attempt.
    """
    owners = db.session.scalars(_START, {
        "job_id": _as_uuid(job_id), "allowed": sorted(WAITING | {STARTED}), "at": at,
        "worker": worker_name[:128]}, execution_options={OWNERS_NOTED: True}).all()
    note_owners(db.session, owners)
    return len(owners) == 1


def mark_finished(job_id: uuid.UUID | str, result: Any) -> bool:
    """Any active state -> finished, with the result; clears a failed attempt's error."""
    return _move(
        job_id,
        ACTIVE_STATUSES,
        status=FINISHED,
        result=result,
        progress=100,
        error=None,
        error_code=None,
        traceback=None,
        ended_at=func.now(),
    )


def mark_failed(
    job_id: uuid.UUID | str, error: str, error_code: str, traceback: str | None = None
) -> bool:
    """Any active state -> failed, with the reason."""
    return _move(
        job_id,
        ACTIVE_STATUSES,
        status=FAILED,
        error=error[:MAX_ERROR_CHARS],
        error_code=error_code,
        traceback=traceback[-MAX_TRACEBACK_CHARS:] if traceback else None,
        ended_at=func.now(),
    )


def mark_retrying(
    job_id: uuid.UUID | str,
    status: str,
    error: str,
    error_code: str,
    traceback: str | None = None,
) -> bool:
    """started -> queued/scheduled: this attempt failed and RQ will run another."""
    return _move(
        job_id,
        frozenset({STARTED}),
        status=status,
        error=error[:MAX_ERROR_CHARS],
        error_code=error_code,
        traceback=traceback[-MAX_TRACEBACK_CHARS:] if traceback else None,
        enqueued_at=func.now(),
    )


def mark_interrupted(job_id: uuid.UUID | str) -> bool:
    """started -> queued: a worker shutting down put the job back; the attempt is not counted."""
    return _move(
        job_id,
        frozenset({STARTED}),
        status=QUEUED,
        attempt=_jobs.c.attempt - 1,
        started_at=None,
        heartbeat_at=None,
        worker_name=None,
        progress=0,
        stage="Interrupted by a worker shutting down; queued again",
        enqueued_at=func.now(),
    )


def mark_stopped(job_id: uuid.UUID | str) -> bool:
    """Any active state -> stopped: a running job was stopped on request."""
    return _move(
        job_id,
        ACTIVE_STATUSES,
        status=STOPPED,
        error="Stopped on request while running.",
        error_code=None,
        ended_at=func.now(),
    )


def mark_canceled(job_id: uuid.UUID | str) -> bool:
    """waiting (or held) -> canceled: the job never started."""
    return _move(job_id, WAITING, status=CANCELED, held=False, ended_at=func.now())


def request_stop(job_id: uuid.UUID | str) -> bool:
    """Note on a running job that someone asked to stop it."""
    return _move(job_id, frozenset({STARTED}), cancel_requested_at=func.now())


def reset_for_retry(job_id: uuid.UUID | str) -> bool:
    """failed/stopped/canceled -> created, ready to enqueue again; the attempt count stays."""
    return _move(
        job_id,
        RETRYABLE,
        status=CREATED,
        result=None,
        error=None,
        error_code=None,
        traceback=None,
        progress=0,
        stage=None,
        worker_name=None,
        enqueued_at=None,
        started_at=None,
        ended_at=None,
        heartbeat_at=None,
        cancel_requested_at=None,
    )


def record_progress(job_id: uuid.UUID | str, percent: int, stage: str | None) -> bool:
    """Progress and stage of a running job; doubles as its heartbeat."""
    return _move(
        job_id,
        frozenset({STARTED}),
        progress=percent,
        stage=stage[:200] if stage else None,
        heartbeat_at=func.now(),
    )


def record_heartbeat(job_id: uuid.UUID | str) -> bool:
    """The worker running this job is alive."""
    return _move(job_id, frozenset({STARTED}), shown=False, heartbeat_at=func.now())
