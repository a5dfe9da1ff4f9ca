"""`flask jobs doctor`: rows and RQ jobs that disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import or_, select

from webapp.extensions import db
from webapp.jobs import transitions
from webapp.jobs.registry import queue_names
from webapp.models import ACTIVE_STATUSES, BackgroundJob

LIMIT = 50_000


@dataclass(frozen=True)
class Finding:
    """One disagreement between a row and RQ."""

    job_id: str
    row_status: str | None
    rq_status: str | None
    problem: str


def _rq_statuses(redis: Redis, ids: list[str]) -> list[str | None]:
    with redis.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hget(f"rq:job:{job_id}", "status")
        return [v.decode() if v else None for v in pipe.execute()]


def check_rows(redis: Redis, since: timedelta = timedelta(days=1)) -> list[Finding]:
    """Unfinished rows, and rows that ended recently, against RQ's status for them."""
    recent = datetime.now(UTC) - since
    rows = db.session.execute(
        select(BackgroundJob.id, BackgroundJob.status)
        .where(or_(BackgroundJob.status.in_(sorted(ACTIVE_STATUSES)),
                   BackgroundJob.updated_at > recent),
               BackgroundJob.held.is_(False))  # held rows have no RQ job by design
        .limit(LIMIT)).all()
    ids = [str(row.id) for row in rows]
    findings = []
    for (job_id, status), rq_status in zip(rows, _rq_statuses(redis, ids), strict=True):
        if rq_status is None and status in ACTIVE_STATUSES and status != transitions.CREATED:
            findings.append(Finding(str(job_id), status, None, "RQ has no such job (lost)"))
        elif rq_status is not None and rq_status != status:
            findings.append(Finding(str(job_id), status, rq_status, "statuses differ"))
    return findings


def check_rq(redis: Redis) -> list[Finding]:
    """Jobs waiting or running in RQ that have no row at all."""
    ids: set[str] = set()
    for name in queue_names():
        queue = Queue(name, connection=redis)
        ids.update(queue.get_job_ids())
        for registry in (StartedJobRegistry, DeferredJobRegistry, ScheduledJobRegistry):
            ids.update(registry(name, connection=redis).get_job_ids(cleanup=False))
    if not ids:
        return []
    known = {str(i) for i in db.session.scalars(
        select(BackgroundJob.id).where(BackgroundJob.id.in_(sorted(ids))))}
    return [Finding(i, None, None, "RQ job with no row") for i in sorted(ids - known)]


def diagnose(redis: Redis) -> list[Finding]:
    return check_rows(redis) + check_rq(redis)
