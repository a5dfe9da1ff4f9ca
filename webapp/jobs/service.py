"""Starting, canceling and retrying jobs: the operations the dashboard and the API share."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from redis.exceptions import RedisError
from rq.command import send_command
from rq.exceptions import NoSuchJobError
from rq.job import Job
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from webapp import audit
from webapp.extensions import db
from webapp.jobs import dispatch, idempotency, pipelines, transitions
from webapp.jobs.changes import OWNERS_NOTED, note_owners
from webapp.jobs.connection import get_redis
from webapp.jobs.dispatch import QueueUnavailable
from webapp.jobs.registry import Task, get_task
from webapp.models import BackgroundJob, User
from webapp.quotas import QuotaExceeded, check_submit_rate

__all__ = ["CancelResult", "JobConflict", "QueueUnavailable", "QuotaExceeded", "cancel",
           "delete", "retry", "submit"]

log = logging.getLogger(__name__)


class JobConflict(Exception):
    """The job's state does not allow the action (HTTP 409)."""


class CancelResult(StrEnum):
    """What a cancel did: the job ended before it ran, or its worker was asked to stop it
    (the row says `stopped` once the worker confirms)."""

    CANCELED = "canceled"
    STOPPING = "stopping"


def submit(
    task: Task,
    raw_params: Mapping[str, Any],
    user: User,
    project_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[BackgroundJob, bool]:
    """Validate, check the user's limits, record, then dispatch; returns (job, replayed).

    One transaction: under the user's lock the row is inserted already `queued` (or queued
    and held, when the user has no free slot) and committed; only then does it go to RQ, so
    no worker meets a job whose row it cannot see, and no row is ever left `created`. If
    Redis refuses, the row becomes failed/enqueue_failed. The job comes back fully loaded:
    reading it costs no query. With an idempotency key seen before, returns
    the first job and True instead. Raises ParamsError, QuotaExceeded or QueueUnavailable.
    """
    params = task.validate(raw_params)
    if idempotency_key and (earlier := idempotency.find(user, idempotency_key)):
        return idempotency.ensure_same(earlier, task.name, params), True
    check_submit_rate(user)
    held = dispatch.admission(user)
    try:
        job = _insert(task, params, user.id, project_id, idempotency_key, held)
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer with its job.
        db.session.rollback()
        earlier = idempotency.find(user, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return idempotency.ensure_same(earlier, task.name, params), True
    if held is None:
        dispatch.push_new(job, task)
    return job, False


_jobs = BackgroundJob.__table__
# The new row of a submit, as it goes to RQ at once or is held (Core, built once: the ORM's
# INSERT ... RETURNING costs several times more Python).
_INSERT_QUEUED = _jobs.insert().values(enqueued_at=func.now()).returning(*_jobs.c)
_INSERT_HELD = _jobs.insert().returning(*_jobs.c)


def _insert(task: Task, params: dict, user_id: int, project_id: int | None,
            idempotency_key: str | None, held: str | None) -> BackgroundJob:
    """INSERT ... RETURNING the new row (queued, or held with `held` as its stage), commit;
    the row comes back as a persistent, loaded BackgroundJob."""
    values = {"id": uuid.uuid4(), "task": task.name, "queue": task.queue, "params": params,
              "user_id": user_id, "project_id": project_id, "status": transitions.QUEUED,
              "idempotency_key": idempotency_key, "held": held is not None,
              "stage": held[:200] if held else None}
    row = db.session.execute(_INSERT_HELD if held else _INSERT_QUEUED, values,
                             execution_options={OWNERS_NOTED: True}).one()
    note_owners(db.session, [user_id])
    job = BackgroundJob(**row._mapping)
    make_transient_to_detached(job)
    db.session.add(job)  # persistent, as loaded: no SQL
    _commit_keeping_loaded()
    return job


def _commit_keeping_loaded() -> None:
    """Commit without expiring what the session holds (the new row, the caller's user):
    the answer is built from what this transaction wrote and read, not read back."""
    session = db.session()
    session.expire_on_commit, previous = False, session.expire_on_commit
    try:
        session.commit()
    finally:
        session.expire_on_commit = previous


def cancel(job: BackgroundJob, actor: User | None, **detail: Any) -> CancelResult:
    """Cancel a waiting job or ask a running one to stop; audited (with `detail`) when an
    admin acts on someone else's job."""
    was_held = job.held
    if job.is_waiting and transitions.mark_canceled(job.id):
        later = pipelines.cancel_later_steps(job.id, "was canceled")
        _audit(actor, "job.cancel", job, detail)
        db.session.commit()
        pipelines.cancel_in_rq([job.rq_id, *later], get_redis())
        if not was_held:
            _stop_if_popped(job)
            dispatch.release_after(job.id)  # its slot is free for the owner's next job
        return CancelResult.CANCELED
    db.session.rollback()
    db.session.refresh(job)
    if job.status != transitions.STARTED or not transitions.request_stop(job.id):
        db.session.rollback()
        db.session.refresh(job)  # it ended (or went back to waiting) meanwhile
        raise JobConflict(f"A {job.status} job cannot be canceled.")
    _audit(actor, "job.cancel", job, detail)
    db.session.commit()
    _send_stop(job)
    return CancelResult.STOPPING


def _stop_if_popped(job: BackgroundJob) -> None:
    """A worker may have popped the job just before it was canceled in RQ, and begun it:
    its `started` is recorded a moment later, on a row that is final by then. The RQ job
    names that worker from the pop on (handoff.push_started): ask it to stop the job, at
    whatever moment of its life it is (a worker not holding the job ignores this, and one
    that has not begun it does not). Never raises: the cancel is committed."""
    redis = get_redis()
    try:
        worker_name = redis.hget(Job.key_for(job.rq_id), "worker_name")
        if worker_name:
            send_command(redis, worker_name.decode(), "stop-job", job_id=job.rq_id)
    except RedisError as exc:
        log.warning("Could not ask a worker to stop canceled job %s: %s", job.id, exc)


def _send_stop(job: BackgroundJob) -> None:
    """Tell the worker running the job to stop it.

    The row names that worker from the moment it recorded `started`, before the fork; RQ's
    job hash names it only once the work-horse has begun (and a retried job's hash may
    still name the worker of an earlier attempt).
    """
    if not job.worker_name:
        return  # cannot happen for a started row; the reconciler settles it otherwise
    try:
        send_command(get_redis(), job.worker_name, "stop-job", job_id=job.rq_id)
    except RedisError as exc:
        raise QueueUnavailable(
            "The job queue is unreachable; the stop request is recorded."
        ) from exc


def _audit(actor: User | None, action: str, job: BackgroundJob, detail: dict[str, Any]) -> None:
    audit.admin_action(actor, action, "job", job.id, job.user_id, **detail)


def retry(job: BackgroundJob, actor: User | None, **detail: Any) -> BackgroundJob:
    """Run a failed, stopped or canceled job again under the same id."""
    task = get_task(job.task)
    if task is None:
        raise JobConflict(f"The task {job.task!r} no longer exists.")
    if job.status not in transitions.RETRYABLE:
        raise JobConflict(f"A {job.status} job cannot be retried.")
    if not job.can_retry:
        raise JobConflict("This job is one stage of a render: render the project again "
                          "(unchanged stages are reused).")
    owner = db.session.get(User, job.user_id)
    check_submit_rate(owner)
    _forget_in_rq(job, "retried")
    dispatch.check_room(owner)
    if not transitions.reset_for_retry(job.id):
        db.session.rollback()
        raise JobConflict("The job changed state; reload and try again.")
    _audit(actor, "job.retry", job, detail)
    db.session.commit()
    db.session.refresh(job)
    dispatch.admit([job])
    return job


def delete(job: BackgroundJob, actor: User | None, **detail: Any) -> None:
    """Delete a final job's row and its RQ record; a render stage goes with its project."""
    if not job.is_final:
        raise JobConflict(f"A {job.status} job cannot be deleted; cancel it first.")
    if not job.can_delete:
        raise JobConflict("This job is one stage of a render; delete the project instead.")
    _forget_in_rq(job, "deleted")
    _audit(actor, "job.delete", job, detail)
    db.session.delete(job)
    db.session.commit()


def _forget_in_rq(job: BackgroundJob, action: str) -> None:
    """Delete the job's RQ record (and its registry entries), if Redis still has one."""
    try:
        Job.fetch(job.rq_id, connection=get_redis()).delete()
    except NoSuchJobError:
        pass
    except RedisError as exc:
        raise QueueUnavailable(f"The job queue is unreachable; the job was not {action}.") \
            from exc
