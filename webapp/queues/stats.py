"""Each queue's numbers: its jobs waiting, scheduled, running and failed in the last day
(PostgreSQL rows, the record), what RQ holds for it (its list and registries), how many
workers listen on it, and its pause.

Two indexed queries whatever the table's size (ix_background_jobs_queue_active covers the
unfinished rows, ix_background_jobs_failed_recent the failed ones by end time) and two Redis
round trips.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq.queue import Queue
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.worker_registration import WORKERS_BY_QUEUE_KEY
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.jobs import pauses
from webapp.models import (
    ACTIVE_STATUSES,
    CREATED,
    DEFERRED,
    FAILED,
    QUEUED,
    SCHEDULED,
    STARTED,
    BackgroundJob,
    QueuePause,
)

# In line for a worker, or for an earlier stage (held ones included); not a retry's delay.
WAITING = (CREATED, QUEUED, DEFERRED)
FAILED_WINDOW = timedelta(hours=24)


@dataclass
class QueueStats:
    """One queue: rows by state (the record) beside what RQ holds."""

    name: str
    pause: QueuePause | None = None
    waiting: int = 0
    held: int = 0  # of the waiting: kept in PostgreSQL by their owner's limit (fair sharing)
    scheduled: int = 0
    running: int = 0
    failed_24h: int = 0
    oldest_waiting_at: datetime | None = None
    rq_waiting: int = 0  # job ids in RQ's list
    rq_scheduled: int = 0
    rq_running: int = 0
    workers: int = 0  # live workers listening on it

    @property
    def paused(self) -> bool:
        return self.pause is not None

    def oldest_waiting_age(self, now: datetime | None = None) -> timedelta | None:
        if self.oldest_waiting_at is None:
            return None
        return max((now or datetime.now(UTC)) - self.oldest_waiting_at, timedelta(0))


def queue_stats(redis: Redis) -> list[QueueStats]:
    """Every queue's numbers, in the task registry's order."""
    paused = pauses.pauses()
    stats = {name: QueueStats(name, pause=paused.get(name))
             for name in pauses.known_queues(paused)}
    _count_rows(stats)
    _count_failed(stats)
    _count_in_rq(stats, redis)
    return list(stats.values())


def _count_rows(stats: dict[str, QueueStats]) -> None:
    """Unfinished rows by (queue, status, held): the index's own order, so PostgreSQL reads
    it alone (an index-only scan once vacuum has been by)."""
    job = BackgroundJob
    rows = db.session.execute(
        select(job.queue, job.status, job.held, func.count(),
               func.min(func.coalesce(job.enqueued_at, job.created_at)))
        .where(job.status.in_(sorted(ACTIVE_STATUSES)))
        .group_by(job.queue, job.status, job.held))
    for name, status, held, count, oldest in rows:
        queue = stats.get(name)
        if queue is None:
            continue
        if status == SCHEDULED:
            queue.scheduled += count
        elif status == STARTED:
            queue.running += count
        elif status in WAITING:
            queue.waiting += count
            queue.held += count if held else 0
            if queue.oldest_waiting_at is None or oldest < queue.oldest_waiting_at:
                queue.oldest_waiting_at = oldest


def _count_failed(stats: dict[str, QueueStats]) -> None:
    since = datetime.now(UTC) - FAILED_WINDOW
    rows = db.session.execute(
        select(BackgroundJob.queue, func.count())
        .where(BackgroundJob.status == FAILED, BackgroundJob.ended_at >= since)
        .group_by(BackgroundJob.queue))
    for name, count in rows:
        if (queue := stats.get(name)) is not None:
            queue.failed_24h = count


def _count_in_rq(stats: dict[str, QueueStats], redis: Redis) -> None:
    """RQ's list and registries of each queue, and its live workers (RQ's set of a queue's
    workers keeps a dead one's key until its maintenance runs: count the keys that exist)."""
    with redis.pipeline(transaction=False) as pipe:
        for name in stats:
            pipe.llen(Queue(name, connection=redis).key)
            pipe.zcard(ScheduledJobRegistry(name, connection=redis).key)
            pipe.zcard(StartedJobRegistry(name, connection=redis).key)
            pipe.smembers(WORKERS_BY_QUEUE_KEY % name)
        answers = pipe.execute()
    keys = {}
    for index, queue in enumerate(stats.values()):
        queue.rq_waiting, queue.rq_scheduled, queue.rq_running, members = \
            answers[4 * index:4 * index + 4]
        keys[queue.name] = sorted(members)
    with redis.pipeline(transaction=False) as pipe:
        for members in keys.values():
            for key in members:
                pipe.exists(key)
        alive = iter(pipe.execute())
    for name, members in keys.items():
        stats[name].workers = sum(next(alive) for _ in members)
