"""Handing committed rows to RQ, fairly: no user keeps more workers busy than they may.

A unit of work (a job, or the stages of one render) goes to RQ only while its owner has
fewer than `max_running_jobs` units there (queued in RQ, running, or waiting for a retry);
otherwise it is held in PostgreSQL: `queued` with `held` set and a stage saying why, with no
RQ job. When one of the owner's units ends, their oldest held unit is dispatched. So a user
who submits sixty long jobs keeps at most that many workers busy, and everyone else's jobs
reach the next free worker instead of waiting behind all sixty.

Each decision takes the owner's advisory lock and counts inside it, so parallel submits and
endings never put more of one user's units in RQ than allowed.
"""

from __future__ import annotations

import logging

from flask import current_app
from redis.exceptions import RedisError
from rq import Callback
from rq.job import Job
from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.orm import aliased

from webapp.extensions import db
from webapp.jobs import pipelines, transitions
from webapp.jobs.connection import get_queue
from webapp.jobs.registry import Task, get_task
from webapp.models import BackgroundJob, User
from webapp.quotas import QuotaExceeded, lock_user, quotas_for

log = logging.getLogger(__name__)

IN_WORKERS = (transitions.QUEUED, transitions.STARTED, transitions.SCHEDULED)
NOT_STARTED = (transitions.CREATED, transitions.QUEUED, transitions.SCHEDULED)
# Held rows are only ever these; naming them lets PostgreSQL use the active-jobs index.
HELD_STATUSES = (transitions.QUEUED, transitions.DEFERRED)


# By dotted path, so that this module need not import the callbacks (which record outcomes,
# which release held jobs through this module).
ON_SUCCESS = Callback("webapp.jobs.callbacks.on_success")
ON_FAILURE = Callback("webapp.jobs.callbacks.on_failure")
ON_STOPPED = Callback("webapp.jobs.callbacks.on_stopped")


_jobs = BackgroundJob.__table__
# One user's (running, waiting) counts, as usage() counts them; built once, since every
# submit runs it.
_ONE_USER = (
    select(func.count().filter(_jobs.c.status.in_(IN_WORKERS) & _jobs.c.held.is_(False)),
           func.count().filter(_jobs.c.status.in_(NOT_STARTED)))
    .where(_jobs.c.user_id == bindparam("user_id"),
           _jobs.c.status.in_(sorted(transitions.WAITING | {transitions.STARTED}))))


class QueueUnavailable(Exception):
    """Redis could not take the request (HTTP 503)."""


def _count(user_id: int, *conditions) -> int:
    stmt = select(func.count()).select_from(BackgroundJob).where(
        BackgroundJob.user_id == user_id, *conditions)
    return db.session.scalar(stmt) or 0


def running(user_id: int) -> int:
    """The user's units in the workers' hands: in RQ's queue, running, or retrying."""
    return _count(user_id, BackgroundJob.status.in_(IN_WORKERS), BackgroundJob.held.is_(False))


def waiting(user_id: int) -> int:
    """The user's jobs that have not started (held ones included; later render stages not)."""
    return _count(user_id, BackgroundJob.status.in_(NOT_STARTED))


def check_room(user: User, units: int = 1) -> None:
    """Take the user's lock and refuse (QuotaExceeded) if `units` more would pass their
    waiting limit; the caller inserts its rows in the same transaction."""
    lock_user(user.id)
    _refuse_past_waiting(quotas_for(user).max_waiting_jobs, waiting(user.id), units)


def _refuse_past_waiting(limit: int, count: int, units: int) -> None:
    if count + units > limit:
        raise QuotaExceeded(
            "max_waiting_jobs", f"You have {count} jobs waiting and may have at most {limit}: "
            "wait for some to finish, or cancel some.", retry_after=30)


def _held_reason(limit: int) -> str:
    return (f"Waiting for a free slot: you have {limit} jobs queued or running, the most "
            "allowed at once.")


def admission(user: User) -> str | None:
    """Where one new job goes, decided under the user's lock with one count for both limits:
    None when it may go to RQ now, else why it is held. QuotaExceeded past the waiting limit.

    The caller inserts its row (queued, or queued and held) in the same transaction, so
    parallel submits see each other's rows as they take the lock in turn."""
    lock_user(user.id)
    quotas = quotas_for(user)
    running_now, waiting_now = db.session.execute(_ONE_USER, {"user_id": user.id}).one()
    _refuse_past_waiting(quotas.max_waiting_jobs, waiting_now, 1)
    if running_now < quotas.max_running_jobs:
        return None
    return _held_reason(quotas.max_running_jobs)


def push_new(job: BackgroundJob, task: Task) -> None:
    """Hand RQ a committed row that was inserted `queued` (see service.submit).

    If Redis refuses, the row becomes failed/enqueue_failed (committed) and QueueUnavailable
    is raised. A process that dies before this leaves a queued row RQ never had, which the
    reconciler repairs as a lost job after RECOVER_AFTER."""
    try:
        push_to_rq(job, task)
    except RedisError as exc:
        log.warning("Could not enqueue job %s: %s", job.id, exc)
        transitions.mark_enqueue_failed(job.id, "The job queue (Redis) is unreachable.",
                                        allowed_from=transitions.QUEUED)
        db.session.commit()
        raise QueueUnavailable("The job queue is unreachable; the job was not started.") from exc


def push_to_rq(job: BackgroundJob, task: Task, depends_on: str | None = None) -> Job:
    """Create the RQ job for a row, under the row's id, with callbacks, timeout and retries.

    Without a dependency, in one round trip (RQ's own enqueue makes two); with one, RQ
    watches the dependency itself, outside any pipeline of ours."""
    config = current_app.config
    queue = get_queue(task.queue)
    options = dict(
        kwargs=job.params,
        job_id=job.rq_id,
        depends_on=depends_on,
        timeout=config["TASK_TIMEOUTS"].get(task.name, task.timeout),
        retry=task.retry.to_rq() if task.retry else None,
        result_ttl=config["JOB_RESULT_TTL"],
        failure_ttl=config["JOB_FAILURE_TTL"],
        meta={"task": task.name, "progress": 0, "stage": None},
        on_success=ON_SUCCESS,
        on_failure=ON_FAILURE,
        on_stopped=ON_STOPPED,
    )
    if depends_on is not None:
        return queue.enqueue_call(task.func, **options)
    with queue.connection.pipeline() as pipe:
        rq_job = queue.enqueue_call(task.func, pipeline=pipe, **options)
        pipe.execute()
    return rq_job


def enqueue(job: BackgroundJob, task: Task, depends_on: str | None = None) -> bool:
    """Hand a committed `created` (or held) row to RQ, then mark it queued (or deferred).

    Returns False when the row changed meanwhile (canceled, or already picked up by a fast
    worker). If Redis refuses, a `created` row becomes failed/enqueue_failed and a held one
    stays held; either way QueueUnavailable is raised.
    """
    try:
        rq_job = push_to_rq(job, task, depends_on)
    except RedisError as exc:
        log.warning("Could not enqueue job %s: %s", job.id, exc)
        transitions.mark_enqueue_failed(job.id, "The job queue (Redis) is unreachable.")
        db.session.commit()
        raise QueueUnavailable("The job queue is unreachable; the job was not started.") from exc
    status = rq_job.get_status(refresh=False).value
    moved = (transitions.mark_dispatched(job.id, status) if job.held
             else transitions.mark_queued(job.id, status))
    db.session.commit()
    return moved


def _chain(unit: list[BackgroundJob]) -> None:
    """Enqueue a unit's rows in order, each depending on the one before."""
    previous: str | None = None
    for job in unit:
        try:
            enqueue(job, get_task(job.task), depends_on=previous)
        except QueueUnavailable:
            pipelines.cancel_later_steps(job.id, "could not be queued")
            db.session.commit()
            raise
        previous = job.rq_id


def admit(unit: list[BackgroundJob]) -> bool:
    """Dispatch a committed unit now if its owner has room, else hold it; commits.

    Returns True when it went to RQ. Raises QueueUnavailable when Redis refused it.
    """
    head = unit[0]
    owner = db.session.get(User, head.user_id)
    lock_user(owner.id)
    limit = quotas_for(owner).max_running_jobs
    if running(owner.id) < limit:
        _chain(unit)
        return True
    reason = _held_reason(limit)
    for job in unit:
        transitions.mark_held(job.id, transitions.QUEUED if job is head
                              else transitions.DEFERRED, reason)
    db.session.commit()
    return False


def _oldest_held(user_id: int) -> list[BackgroundJob]:
    """The user's oldest held unit, its rows in order; [] when none is held."""
    head = db.session.scalar(
        select(BackgroundJob).where(
            BackgroundJob.user_id == user_id, BackgroundJob.held.is_(True),
            BackgroundJob.status == transitions.QUEUED,
            (BackgroundJob.pipeline_step.is_(None)) | (BackgroundJob.pipeline_step == 0))
        .order_by(BackgroundJob.created_at, BackgroundJob.id).limit(1))
    if head is None or head.pipeline_id is None:
        return [head] if head else []
    return list(db.session.scalars(
        select(BackgroundJob).where(BackgroundJob.pipeline_id == head.pipeline_id,
                                    BackgroundJob.held.is_(True))
        .order_by(BackgroundJob.pipeline_step)))


def release(user_id: int) -> int:
    """Dispatch the user's oldest held units while they have room; returns how many went."""
    owner = db.session.get(User, user_id)
    if owner is None:
        return 0
    dispatched = 0
    while True:
        lock_user(user_id)
        unit = _oldest_held(user_id)
        if not unit or running(user_id) >= quotas_for(owner).max_running_jobs:
            db.session.commit()
            return dispatched
        try:
            _chain(unit)  # commits, which releases the lock until the next round
        except QueueUnavailable:
            db.session.rollback()
            log.warning("Redis unreachable: %d held job(s) of user %s wait for the "
                        "reconciler", len(unit), user_id)
            return dispatched
        dispatched += 1


_held = aliased(BackgroundJob)


def owners_with_held(job_ids: list) -> list[int]:
    """The owners of these jobs who have held units (read in the caller's transaction)."""
    return list(db.session.scalars(
        select(BackgroundJob.user_id).distinct().where(
            BackgroundJob.id.in_(job_ids),
            exists().where(_held.user_id == BackgroundJob.user_id, _held.held.is_(True),
                           _held.status.in_(HELD_STATUSES)))))


def release_owners(owners: list[int], why: str) -> int:
    """Dispatch what now fits for each of these owners. Never raises."""
    try:
        return sum(release(owner) for owner in owners)
    except Exception:
        db.session.rollback()
        log.exception("Could not dispatch the held jobs after %s; the reconciler will", why)
        return 0


def release_after(job_id) -> int:
    """A job ended: if its owner has held units, dispatch what now fits. Never raises."""
    try:
        owner = next(iter(owners_with_held([job_id])), None)
        if owner is None:
            # End the read's transaction: in a worker it would stay open until the next
            # job, holding a server connection of a transaction pooler (PgBouncer).
            db.session.commit()
            return 0
        return release(owner)
    except Exception:
        db.session.rollback()
        log.exception("Could not dispatch the held jobs after job %s; the reconciler will",
                      job_id)
        return 0


def users_with_held() -> list[int]:
    """Users who have held units (for the reconciler's safety net)."""
    return list(db.session.scalars(
        select(BackgroundJob.user_id).where(BackgroundJob.held.is_(True),
                                            BackgroundJob.status.in_(HELD_STATUSES))
        .distinct()))


def usage(user_ids: list[int]) -> dict[int, dict[str, int]]:
    """{user id: {"running": n, "waiting": n}} for these users, in one query."""
    in_workers = BackgroundJob.status.in_(IN_WORKERS) & BackgroundJob.held.is_(False)
    rows = db.session.execute(
        select(BackgroundJob.user_id,
               func.count().filter(in_workers),
               func.count().filter(BackgroundJob.status.in_(NOT_STARTED)))
        .where(BackgroundJob.user_id.in_(user_ids),
               BackgroundJob.status.in_(sorted(transitions.WAITING | {transitions.STARTED})))
        .group_by(BackgroundJob.user_id)).all()
    found = {user_id: {"running": r, "waiting": w} for user_id, r, w in rows}
    return {user_id: found.get(user_id, {"running": 0, "waiting": 0}) for user_id in user_ids}
