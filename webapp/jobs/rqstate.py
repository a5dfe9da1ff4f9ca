"""Reading and repairing RQ's side of a job, for the reconciler and the doctor."""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# - the worker's hash at Worker.redis_worker_namespace_prefix + name, and its last_heartbeat
#   field in RQ's date format (read with rq.utils.utcparse);
# - StartedJobRegistry members named "<job id>:<execution id>";
# - rq.job_lifecycle.record_job_failure(job, exc_string, pipeline), RQ's worker-less failure;
# - job.set_status, job.save, job.retries_left and the registries' add(job, ttl, exc_string,
#   pipeline), written here without a worker, as RQ's own worker would.

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.job_lifecycle import record_job_failure
from rq.registry import (
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.utils import utcparse


def fetch(redis: Redis, job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=redis)
    except NoSuchJobError:
        return None


def worker_alive(redis: Redis, worker_name: str | None, grace: float) -> bool:
    """True if the worker is registered and sent a heartbeat within `grace` seconds."""
    if not worker_name:
        return False
    raw = redis.hget(Worker.redis_worker_namespace_prefix + worker_name, "last_heartbeat")
    if raw is None:
        return False
    last = utcparse(raw.decode())
    return datetime.now(UTC) - last < timedelta(seconds=grace)


def _release(redis: Redis, job: Job, pipeline) -> None:
    """Take the job from wherever a (dead) worker held it: its executions in the queue's
    started registry, and the queue's intermediate list it was popped into."""
    pipeline.lrem(Queue(job.origin, connection=redis).intermediate_queue_key, 0, job.id)
    registry = StartedJobRegistry(job.origin, connection=redis)
    prefix = f"{job.id}:".encode()
    members = [m for m in redis.zrange(registry.key, 0, -1) if m.startswith(prefix)]
    if members:
        pipeline.zrem(registry.key, *members)


def waiting_in_rq(redis: Redis, job: Job) -> bool:
    """True if RQ will hand the job out: in its queue, or in its queue's scheduled registry.

    A job's status alone does not say so: a job popped by a worker that lost its network
    before its work-horse wrote `started` still says `queued`, from the popping worker's
    intermediate queue, where no other worker looks.
    """
    queue = Queue(job.origin, connection=redis)
    if job.get_status() == JobStatus.SCHEDULED:
        return redis.zscore(ScheduledJobRegistry(job.origin, connection=redis).key,
                            job.id) is not None
    return redis.lpos(queue.key, job.id) is not None


def requeue(redis: Redis, job: Job) -> JobStatus:
    """Put an abandoned job back in its queue, using up one of its retries."""
    queue = Queue(job.origin, connection=redis)
    with redis.pipeline() as pipeline:
        _release(redis, job, pipeline)
        if job.retries_left:
            job.retries_left -= 1
        job.save(pipeline=pipeline)
        pipeline.execute()
    queue.enqueue_job(job)
    return JobStatus.QUEUED


def fail(redis: Redis, job: Job, message: str) -> None:
    """Record an abandoned job as failed in RQ (status, failed registry, result)."""
    with redis.pipeline() as pipeline:
        _release(redis, job, pipeline)
        record_job_failure(job, message, pipeline)
        pipeline.execute()


def stop(redis: Redis, job: Job) -> None:
    """Record as stopped a job whose stop request its (dead) worker never carried out."""
    with redis.pipeline() as pipeline:
        _release(redis, job, pipeline)
        job.set_status(JobStatus.STOPPED, pipeline=pipeline)
        FailedJobRegistry(job.origin, connection=redis).add(
            job, exc_string="Stopped on request; its worker had gone.", pipeline=pipeline)
        pipeline.execute()


def settle(redis: Redis, job: Job, status: JobStatus) -> None:
    """Make RQ agree with a final row: canceled, finished, failed or stopped."""
    if status == JobStatus.CANCELED:
        job.cancel()
        return
    with redis.pipeline() as pipeline:
        _release(redis, job, pipeline)
        job.set_status(status, pipeline=pipeline)
        registry = FinishedJobRegistry if status == JobStatus.FINISHED else FailedJobRegistry
        registry(job.origin, connection=redis).add(job, ttl=job.result_ttl or 0,
                                                   pipeline=pipeline)
        pipeline.execute()
