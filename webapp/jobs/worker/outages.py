"""RQ's forking worker, made to outlive Redis outages of any length.

RQ's work loop quits on most Redis errors (a read of the job's status after the horse died,
a heartbeat, the state written before a dequeue...), its dequeue loop logs every retry, its
pubsub thread ends on a timeout, and a work-horse that cannot reach Redis as the job ends
fails the job. Here every Redis call of those loops is guarded (webapp.jobs.redis_outage):
what can be skipped is skipped during an outage, what cannot waits for Redis with back-off,
and each process logs one line when the outage starts and one when it ends.
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# - Worker.queue_class and Queue.dequeue_any (a classmethod) for the blocking dequeue;
# - Worker methods wrapped with RQ 3.0's signatures: bootstrap, get_redis_server_version
#   (cached after the first call), dequeue_job_and_maintain_ttl(timeout, max_idle_time),
#   heartbeat, maintain_heartbeats, set_state(state, pipeline), check_for_suspension,
#   run_maintenance_tasks, set_shutdown_requested_date, teardown, stop_scheduler,
#   prepare_execution (which adds to self.executions before writing to Redis),
#   monitor_work_horse, wait_for_horse, perform_job, prepare_job_execution(job,
#   remove_from_intermediate_queue), handle_execution_ended (replaced whole: RQ 3.0 only sets
#   ended_at and writes the job's heartbeat), handle_job_success, handle_job_failure;
# - private: _state, _stop_requested, _pubsub_exception_handler(exc, pubsub, thread),
#   _stopped_job_id and _handle_stopped_job; _wrap_up_dead_horse repeats the tail of RQ
#   3.0's monitor_work_horse (status check, stopped job, handle_work_horse_killed,
#   handle_job_failure) and must follow it.

from __future__ import annotations

import contextlib
import time
from typing import Any

from rq import Worker
from rq.exceptions import InvalidJobOperation, StopRequested
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.utils import now

from webapp.jobs import redis_outage
from webapp.jobs.redis_outage import UNREACHABLE, GaveUp


class RedisOutage(Exception):
    """Redis failed a blocking dequeue (not a redis-py error, so RQ's loop lets it through)."""


class OutageSafeQueue(Queue):
    """RQ's queue; its dequeue reports an unreachable Redis as RedisOutage, so the worker
    waits the outage out with one log line instead of RQ's retry loop logging every try."""

    @classmethod
    def dequeue_any(cls, *args: Any, **kwargs: Any):
        try:
            return super().dequeue_any(*args, **kwargs)
        except UNREACHABLE as exc:
            raise RedisOutage(str(exc)) from exc


class OutageSafeWorker(Worker):
    """A forking worker that waits Redis outages out instead of quitting."""

    queue_class = OutageSafeQueue

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.outage = redis_outage.track("worker", self.connection)
        self._horse_exit: tuple[Any, Any, Any] = (None, None, None)

    def _shutting_down(self) -> bool:
        return self._stop_requested

    def _tolerate(self, action: Any, *args: Any) -> None:
        """Run a Redis write that can be skipped; during an outage, skip it."""
        if not self.outage.usable():
            return
        try:
            action(*args)
        except UNREACHABLE as exc:
            self.outage.failed(exc)
        else:
            self.outage.recovered()

    # --- the worker's loop ---------------------------------------------------------------

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        self.get_redis_server_version()  # cached: RQ asks for it after each dequeue

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None):
        """RQ's blocking dequeue; an outage is waited out here, with one log line."""
        while True:
            if self.outage.down:
                try:
                    self.outage.wait(self._shutting_down)
                except GaveUp:
                    return None
            try:
                return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
            except RedisOutage as exc:
                self.outage.failed(exc.__cause__ or exc)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's heartbeat; on its own (no pipeline given), its three writes go in one round
        trip instead of three (RQ beats several times a job)."""
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            return
        self._tolerate(self._beat, timeout)

    def _beat(self, timeout: int | None) -> None:
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipe)
            pipe.execute()

    def maintain_heartbeats(self, job: Job, execution: Any) -> None:
        self._tolerate(super().maintain_heartbeats, job, execution)

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is not None:
            super().set_state(state, pipeline)
            return
        self._state = state
        self._tolerate(super().set_state, state)

    def check_for_suspension(self, burst: bool) -> None:
        self._tolerate(super().check_for_suspension, burst)

    def run_maintenance_tasks(self) -> None:
        self._tolerate(super().run_maintenance_tasks)

    def set_shutdown_requested_date(self) -> None:
        self._tolerate(super().set_shutdown_requested_date)

    def teardown(self) -> None:
        """RQ's teardown; without Redis, the worker's record in Redis just expires."""
        if self.scheduler is not None and not self.is_horse:
            self.stop_scheduler()  # first, as it needs no Redis (RQ's teardown does it again)
        self._tolerate(super().teardown)

    def _pubsub_exception_handler(self, exc: Exception, pubsub: Any, thread: Any) -> None:
        """The pubsub thread (worker commands) waits outages out and reconnects; RQ's own
        handler logs every retry, and ends the thread on a timeout."""
        if isinstance(exc, UNREACHABLE):
            time.sleep(self.outage.failed(exc))
            return
        super()._pubsub_exception_handler(exc, pubsub, thread)

    # --- one job, in the worker ----------------------------------------------------------

    def prepare_execution(self, job: Job) -> Any:
        """RQ's execution record, written once Redis can take it (the row says started)."""
        prepare = super().prepare_execution

        def attempt() -> Any:
            self.executions.clear()  # RQ adds it before its write to Redis fails
            return prepare(job)

        try:
            return self.outage.call(attempt, self._shutting_down)
        except GaveUp as exc:
            raise StopRequested() from exc

    def monitor_work_horse(self, job: Job, queue: Queue, execution: Any) -> None:
        try:
            super().monitor_work_horse(job, queue, execution)
        except UNREACHABLE as exc:
            # Heartbeats are guarded: what failed is RQ's wrap-up of a horse that died,
            # which starts by reading the job's status. Do it once Redis is back.
            self.outage.failed(exc)
            with contextlib.suppress(GaveUp):
                self.outage.call(lambda: self._wrap_up_dead_horse(job, queue, execution),
                                 self._shutting_down)

    def wait_for_horse(self) -> tuple[Any, Any, Any]:
        self._horse_exit = super().wait_for_horse()
        return self._horse_exit

    def _wrap_up_dead_horse(self, job: Job, queue: Queue, execution: Any) -> None:
        """What RQ's monitor_work_horse does after a horse exits with a non-zero status."""
        retpid, ret_val, rusage = self._horse_exit
        try:
            status = job.get_status()
        except InvalidJobOperation:
            return  # the job is gone from Redis
        if self._stopped_job_id == job.id:
            self._handle_stopped_job(job, queue, execution)
        elif status not in (JobStatus.FINISHED, JobStatus.FAILED):
            job.ended_at = now()
            self.handle_work_horse_killed(job, retpid, ret_val, rusage)
            self.handle_job_failure(job, queue=queue, execution=execution,
                                    exc_string=f"Work-horse terminated unexpectedly ({ret_val})")

    # --- one job, in the work-horse ------------------------------------------------------

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        if self.is_horse:  # without a horse (the light worker), the worker's own record
            self.outage = redis_outage.track("work-horse", self.connection)
        return super().perform_job(job, queue, execution)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False
                              ) -> None:
        """RQ's bookkeeping as the horse starts; an outage must not fail the job."""
        self._tolerate(super().prepare_job_execution, job, remove_from_intermediate_queue)

    def handle_execution_ended(self, job: Job, queue: Queue, heartbeat_ttl: int) -> None:
        """RQ's last job heartbeat, before the callbacks record the outcome in PostgreSQL;
        skipped during an outage."""
        job.ended_at = now()
        self._tolerate(job.heartbeat, now(), heartbeat_ttl)

    def handle_job_success(self, job: Job, queue: Queue, started_job_registry: Any,
                           execution: Any) -> None:
        """RQ's success bookkeeping (result, dependents: a render's next stage), done once
        Redis can take it; PostgreSQL already has the outcome."""
        succeed = super().handle_job_success
        self.outage.call(lambda: succeed(job, queue, started_job_registry, execution))

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry: Any = None,
                           exc_string: str = "", execution: Any = None) -> None:
        """RQ's failure bookkeeping, once Redis can take it (RQ logs and drops a failure it
        cannot write: a retry would never happen)."""
        if self.outage.down:
            with contextlib.suppress(GaveUp):
                self.outage.wait(self._shutting_down)
        super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)
