"""Every live worker as RQ records it, with what Cutroom adds to the record (its memory and
its work-horse's: webapp/jobs/worker/vitals.py) and the job its row says it runs; and
stopping that job."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Worker
from rq.worker import WorkerStatus
from sqlalchemy import select

from webapp.extensions import db
from webapp.jobs import service
from webapp.jobs.worker import vitals
from webapp.models import STARTED, BackgroundJob, User

# A heartbeat older than this many of the worker's heartbeat intervals (plus the slack, for
# a busy machine) is stale: the worker is hung, cut off from Redis, or dead.
STALE_INTERVALS = 2
STALE_SLACK = 2.0


class WorkerGone(Exception):
    """No live worker has that name (HTTP 404)."""


class WorkerReader(Worker):
    """RQ's Worker, to read other workers' records. RQ's constructor raises its client's
    socket timeout to its own dequeue timeout + 10 s (415 s by default), for a blocking
    dequeue it never does here: on the web's client, a hung Redis would then hold a request
    for minutes instead of seconds."""

    def _set_connection(self, connection: Redis) -> Redis:
        return connection


@dataclass
class WorkerInfo:
    """One worker: RQ's record, its vitals, and its current job."""

    name: str
    hostname: str | None
    pid: int | None
    queues: list[str]
    state: str
    born_at: datetime | None
    last_heartbeat: datetime | None
    successful: int
    failed: int
    rss: int  # bytes, 0: not reported (yet)
    horse_rss: int
    heartbeat_interval: int
    heartbeat_age: timedelta | None
    stale: bool
    job: BackgroundJob | None = None  # its `started` row (the record names the worker)
    rq_job_id: str | None = None  # RQ's current job, when no row names this worker

    @property
    def memory(self) -> int:
        """The worker's and its work-horse's resident memory, in bytes."""
        return self.rss + self.horse_rss


def live_workers(redis: Redis, default_interval: int) -> list[WorkerInfo]:
    """Every registered worker, by name; `default_interval` for one that does not say its
    heartbeat interval (not a Cutroom worker, or not heartbeating yet)."""
    found = sorted(WorkerReader.all(connection=redis), key=lambda w: w.name)
    with redis.pipeline(transaction=False) as pipe:
        for worker in found:
            pipe.hmget(worker.key, vitals.FIELDS)
        extras = pipe.execute()
    rows = running_rows([w.name for w in found])
    now = datetime.now(UTC)
    return [_info(w, extra, rows.get(w.name), now, default_interval)
            for w, extra in zip(found, extras, strict=True)]


def _number(raw: bytes | None) -> int:
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def _info(worker: Worker, extra: list, row: BackgroundJob | None, now: datetime,
          default_interval: int) -> WorkerInfo:
    rss, horse_rss, interval = (_number(value) for value in extra)
    interval = interval or default_interval
    age = now - worker.last_heartbeat if worker.last_heartbeat else None
    stale = age is None or age.total_seconds() > STALE_INTERVALS * interval + STALE_SLACK
    state = worker.get_state()
    rq_job_id = None
    if row is None and state == WorkerStatus.BUSY:
        rq_job_id = worker.get_current_job_id()
    return WorkerInfo(
        name=worker.name, hostname=worker.hostname, pid=worker.pid,
        queues=worker.queue_names(), state=state, born_at=worker.birth_date,
        last_heartbeat=worker.last_heartbeat, successful=worker.successful_job_count,
        failed=worker.failed_job_count, rss=rss, horse_rss=horse_rss,
        heartbeat_interval=interval, heartbeat_age=age, stale=stale, job=row,
        rq_job_id=rq_job_id)


def running_rows(names: list[str]) -> dict[str, BackgroundJob]:
    """{worker name: the started row it runs} for these workers (the newest, should a
    row of a dead worker's earlier job linger until the reconciler's sweep)."""
    if not names:
        return {}
    rows = db.session.scalars(
        select(BackgroundJob).where(BackgroundJob.status == STARTED,
                                    BackgroundJob.worker_name.in_(names))
        .order_by(BackgroundJob.started_at))
    return {row.worker_name: row for row in rows}


def stop_current_job(redis: Redis, name: str, job_id: str, actor: User
                     ) -> service.CancelResult:
    """Stop the job worker `name` runs, if it is still `job_id` (the page may be old);
    audited like any admin action on someone else's job. Commits.

    Raises WorkerGone, service.JobConflict, service.QueueUnavailable."""
    if not redis.exists(Worker.redis_worker_namespace_prefix + name):
        raise WorkerGone(f"No live worker is called {name!r}.")
    row = running_rows([name]).get(name)
    if row is None or row.rq_id != job_id:
        raise service.JobConflict(f"Worker {name} is not running job {job_id} any more.")
    return service.cancel(row, actor, via="workers page", worker=name)
