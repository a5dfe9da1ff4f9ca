"""The helper tasks call to report progress: `progress(percent, stage)`."""

from __future__ import annotations

import logging
import time

from flask import current_app
from rq import get_current_job

from webapp.extensions import db
from webapp.jobs import handoff, redis_outage, transitions

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# Job.save_meta() is HSET of the job's key, field `meta`, to the private _serialize_meta().

log = logging.getLogger(__name__)

# Per job id: (monotonic time of the last write, stage written then).
_last_write: dict[str, tuple[float, str | None]] = {}


def _due(job_id: str, stage: str | None, now: float, force: bool) -> bool:
    """At most one write per PROGRESS_INTERVAL; a new stage may come after a quarter of it."""
    last = _last_write.get(job_id)
    if force or last is None:
        return True
    interval = current_app.config["PROGRESS_INTERVAL"]
    elapsed = now - last[0]
    return elapsed >= interval or (stage != last[1] and elapsed >= interval / 4)


def _mirror(job, percent: int, stage: str | None) -> None:
    """Copy progress into the RQ job's meta, for rq-dashboard; skipped during an outage."""
    redis = redis_outage.current()
    if not redis.usable():
        return
    try:
        job.meta.update(progress=percent, stage=stage)
        job.save_meta()
    except redis_outage.UNREACHABLE as exc:
        redis.failed(exc)
    except Exception:
        log.warning("Could not mirror progress of job %s into Redis", job.id, exc_info=True)
    else:
        redis.recovered()


def _queue_mirror(pipe, job, percent: int, stage: str | None) -> None:
    """_mirror's write, queued in a pipeline (the hand-over's round trip); never raises."""
    try:
        job.meta.update(progress=percent, stage=stage)
        pipe.hset(job.key, "meta", job._serialize_meta())
    except Exception:
        log.warning("Could not mirror progress of job %s into Redis", job.id, exc_info=True)


def progress(percent: float, stage: str | None = None, *, force: bool = False) -> bool:
    """Record a running task's progress (0-100) and stage; returns True if it was written.

    Writes to PostgreSQL at most about once a second (PROGRESS_INTERVAL) and mirrors the
    values into the RQ job's meta for rq-dashboard (a work-horse without a connection of its
    own hands the write to its worker process). Outside a worker it does nothing. It
    never raises: a task must not fail because its progress could not be shown.
    """
    job = get_current_job()
    if job is None:
        return False
    percent = max(0, min(100, int(percent)))
    now = time.monotonic()
    if not _due(job.id, stage, now, force):
        return False
    _last_write[job.id] = (now, stage)
    if handoff.active() and handoff.push(handoff.PROGRESS, job.id, [percent, stage],
                                         along=lambda pipe: _queue_mirror(pipe, job,
                                                                          percent, stage)):
        return True  # mirrored, and the worker process writes it (within about a second)
    _mirror(job, percent, stage)
    handoff.settle_start()
    try:
        transitions.record_progress(job.id, percent, stage)
        db.session.commit()
    except Exception:
        log.warning("Could not record progress of job %s", job.id, exc_info=True)
        db.session.rollback()
        return False
    return True
