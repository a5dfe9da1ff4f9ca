"""rq-dashboard's buttons done as Cutroom operations, so PostgreSQL stays the record.

Done in RQ alone, they would be undone: a requeued job whose row is final is refused by the
worker, and a deleted or emptied job whose row still waits is put back by the reconciler.
So for jobs that have a row, Requeue is a Cutroom retry, and Delete (and Empty, job by job)
cancels a waiting job, stops a running one and deletes a final one; each is audited when
the job is another user's. Jobs without a row (not Cutroom's) keep rq-dashboard's behaviour.
"""

from __future__ import annotations

import uuid
from collections import Counter

from flask import Response, current_app, jsonify
from flask_login import current_user
from rq import Queue, requeue_job
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import (
    BaseRegistry,
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from sqlalchemy import select

from webapp import audit
from webapp.errors import error_response
from webapp.extensions import db
from webapp.jobs import service
from webapp.jobs.connection import get_redis
from webapp.models import BackgroundJob

VIA = "rq-dashboard"
REGISTRY_CLASSES: dict[str, type[BaseRegistry]] = {
    "scheduled": ScheduledJobRegistry,
    "deferred": DeferredJobRegistry,
    "started": StartedJobRegistry,
    "finished": FinishedJobRegistry,
    "failed": FailedJobRegistry,
    "canceled": CanceledJobRegistry,
}


def requeue(job_ids: list[str], single: bool) -> Response:
    """Requeue failed jobs: Cutroom retries for rows, RQ's requeue for the rest."""
    rows = rows_by_id(job_ids)
    retried = 0
    for job_id in job_ids:
        try:
            _requeue_one(job_id, rows.get(job_id))
            retried += 1
        except service.QueueUnavailable as exc:
            return error_response(503, str(exc), "queue_unavailable")
        except service.JobConflict as exc:
            if single:
                return error_response(409, str(exc))
    return jsonify(status="OK", count=retried)


def _requeue_one(job_id: str, row: BackgroundJob | None) -> None:
    if row is not None:
        service.retry(row)
        audit.admin_action(current_user, "job.retry", "job", row.id, row.user_id, via=VIA)
        return
    try:
        requeue_job(job_id, connection=get_redis())
    except (InvalidJobOperation, NoSuchJobError):
        raise service.JobConflict(f"Job {job_id} is not in a failed job registry.") from None


def delete(job_id: str) -> Response:
    """Delete one job the way Cutroom does (a row) or the way RQ does (no row)."""
    row = rows_by_id([job_id]).get(job_id)
    if row is None:
        _delete_in_rq(job_id, None)
        return jsonify(status="OK", outcome="deleted")
    try:
        outcome = discard(row)
    except service.JobConflict as exc:
        return error_response(409, str(exc))
    except service.QueueUnavailable as exc:
        return error_response(503, str(exc), "queue_unavailable")
    return jsonify(status="OK", outcome=outcome)


def empty(queue_name: str, registry_name: str) -> Response:
    """Delete every job of one registry, job by job; jobs that cannot go are skipped."""
    holder = _holder(queue_name, registry_name)
    ids = (holder.get_job_ids() if isinstance(holder, Queue)
           else holder.get_job_ids(cleanup=False))
    rows = rows_by_id(ids)
    counts: Counter[str] = Counter()
    for job_id in ids:
        if (row := rows.get(job_id)) is None:
            counts["deleted" if _delete_in_rq(job_id, holder) else "skipped"] += 1
            continue
        try:
            counts[discard(row)] += 1
        except (service.JobConflict, service.QueueUnavailable):
            db.session.rollback()
            counts["skipped"] += 1
    return jsonify(status="OK", **{k: counts[k] for k in
                                   ("canceled", "stopping", "deleted", "skipped")})


def discard(row: BackgroundJob) -> str:
    """What deleting a job means to Cutroom; returns canceled, stopping or deleted.

    Raises JobConflict for a render stage, which only goes with its render or project.
    """
    job_id, owner_id = row.id, row.user_id
    if row.is_final:
        service.delete(row)  # refuses a render stage with the API's message
        outcome, action = "deleted", "job.delete"
    elif row.is_render_stage:
        raise service.JobConflict("This job is one stage of a render; cancel the render on "
                                  "its project's page, or delete the project.")
    else:
        outcome, action = service.cancel(row), "job.cancel"
    audit.admin_action(current_user, action, "job", job_id, owner_id, via=VIA)
    return outcome


def _holder(queue_name: str, registry_name: str) -> Queue | BaseRegistry:
    """The queue itself, or one of its registries."""
    if registry_name == "queued":
        return Queue(queue_name, connection=get_redis())
    return REGISTRY_CLASSES[registry_name](queue_name, connection=get_redis())


def _delete_in_rq(job_id: str, holder: Queue | BaseRegistry | None) -> bool:
    """RQ's own delete, for a job that is not Cutroom's; a dangling id leaves its list.

    False when there was nothing to delete.
    """
    try:
        Job.fetch(job_id, connection=get_redis()).delete()
        return True
    except NoSuchJobError:
        # RQ's started registry holds executions, which cannot be removed by job id; its
        # own clean-up drops dangling ones.
        if holder is None or isinstance(holder, StartedJobRegistry):
            return False
        holder.remove(job_id)
        return True


def rows_by_id(ids: list[str]) -> dict[str, BackgroundJob]:
    """The Cutroom rows of these RQ job ids, keyed by the ids as given."""
    keys: dict[uuid.UUID, str] = {}
    for job_id in ids:
        try:
            keys[uuid.UUID(job_id)] = job_id
        except ValueError:
            continue
    if not keys:
        return {}
    rows = db.session.scalars(select(BackgroundJob).where(BackgroundJob.id.in_(list(keys))))
    return {keys[row.id]: row for row in rows}


def delete_disabled() -> bool:
    """rq-dashboard's own switch: with RQ_DASHBOARD_DISABLE_DELETE its views refuse."""
    return bool(current_app.config.get("RQ_DASHBOARD_DISABLE_DELETE"))
