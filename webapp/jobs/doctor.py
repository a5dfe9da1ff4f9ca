"""`flask jobs doctor`: rows and RQ jobs that disagree."""

from __future__ import annotations

import uuid
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
# Each kind of disagreement, by the name the consistency panel and its API use.
PROBLEMS = {
    "lost": "RQ has no such job (lost)",
    "statuses_differ": "statuses differ",
    "no_row": "RQ job with no row",
}


@dataclass(frozen=True)
class Finding:
    """One disagreement between a row and RQ."""

    job_id: str
    row_status: str | None
    rq_status: str | None
    kind: str  # a key of PROBLEMS

    @property
    def problem(self) -> str:
        return PROBLEMS[self.kind]


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
    findings = (_compare(str(job_id), status, rq_status)
                for (job_id, status), rq_status in zip(rows, _rq_statuses(redis, ids),
                                                       strict=True))
    return [f for f in findings if f is not None]


def _compare(job_id: str, status: str | None, rq_status: str | None) -> Finding | None:
    """How a row's status (None: no row) and RQ's (None: no job) disagree, if they do."""
    if status is None:
        return Finding(job_id, None, None, "no_row") if rq_status is not None else None
    if rq_status is None and status in ACTIVE_STATUSES and status != transitions.CREATED:
        return Finding(job_id, status, None, "lost")
    if rq_status is not None and rq_status != status:
        return Finding(job_id, status, rq_status, "statuses_differ")
    return None


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
    return [Finding(i, None, None, "no_row") for i in sorted(ids - known)]


def diagnose(redis: Redis) -> list[Finding]:
    """Every disagreement: rows against RQ (at most LIMIT rows), then RQ against rows."""
    return check_rows(redis) + check_rq(redis)


def recheck(redis: Redis, findings: list[Finding]) -> list[Finding]:
    """The findings that still hold, as they were: a disagreement that a worker's write on
    its way resolves (RQ says started, the row says queued for a moment) drops out."""
    ids = [i for i in (_uuid_or_none(f.job_id) for f in findings) if i is not None]
    statuses = dict(db.session.execute(
        select(BackgroundJob.id, BackgroundJob.status).where(BackgroundJob.id.in_(ids))).all())
    rq_statuses = _rq_statuses(redis, [f.job_id for f in findings])
    still = []
    for finding, rq_status in zip(findings, rq_statuses, strict=True):
        row_status = statuses.get(_uuid_or_none(finding.job_id))
        if _compare(finding.job_id, row_status, rq_status) == finding:
            still.append(finding)
    return still


def _uuid_or_none(text: str) -> uuid.UUID | None:
    """The row id an RQ job id names (None: not one of ours)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
