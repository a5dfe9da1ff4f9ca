"""The RQ worker that keeps PostgreSQL in step with every job it runs.

The parent process records `started` (RQ has no start callback), heartbeats and a killed
work-horse through its own connection pool; the forked work-horse runs the task and its
success/failure callbacks on a fresh connection of its own.

Stop requests arrive on RQ's pubsub thread at any moment of a job's life; they go through
a thread-safe record of the work-horse (webapp.jobs.horse), so that none is lost and none
kills the worker. Redis outages are waited out (webapp.jobs.outage) wherever RQ's loops
would otherwise quit: the worker, its work-horse and its scheduler carry on once Redis is
back, and the job's outcome is recorded in PostgreSQL meanwhile.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Any

from redis.exceptions import RedisError
from rq import Worker
from rq.command import handle_command, parse_payload
from rq.exceptions import InvalidJobOperation, StopRequested
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.utils import now
from rq.worker import WorkerStatus

from webapp.extensions import db
from webapp.jobs import outage as outages
from webapp.jobs import outcomes, rqstate, transitions
from webapp.jobs.callbacks import retry_status
from webapp.jobs.horse import Horse
from webapp.jobs.outage import UNREACHABLE, GaveUp
from webapp.jobs.scheduler import CutroomScheduler
from webapp.processes import die_with_parent

# How often a worker whose scheduler is not running tries to take the scheduler lock.
SCHEDULER_RETRY = 15.0


class RedisOutage(Exception):
    """Redis failed a blocking dequeue (not a redis-py error, so RQ's loop lets it through)."""


class CutroomQueue(Queue):
    """RQ's queue; its dequeue reports an unreachable Redis as RedisOutage, so the worker
    waits the outage out with one log line instead of RQ's retry loop logging every try."""

    @classmethod
    def dequeue_any(cls, *args: Any, **kwargs: Any):
        try:
            return super().dequeue_any(*args, **kwargs)
        except UNREACHABLE as exc:
            raise RedisOutage(str(exc)) from exc


class CutroomWorker(Worker):
    """A forking RQ worker that records each job's state in PostgreSQL."""

    queue_class = CutroomQueue

    def __init__(self, *args: Any, shutdown_grace: float = 20.0, **kwargs: Any):
        self.horse = Horse()  # before RQ's __init__, which sets _stopped_job_id
        super().__init__(*args, **kwargs)
        self.outage = outages.track("worker", self.connection)
        self.shutdown_grace = shutdown_grace
        self._grace_timer: threading.Timer | None = None
        self._interrupted_job_id: str | None = None
        self._horse_exit: tuple[Any, Any, Any] = (None, None, None)
        self._scheduler_checked = 0.0

    # RQ reads and writes `_stopped_job_id` on two threads: it lives in the horse record.
    @property
    def _stopped_job_id(self) -> str | None:
        return self.horse.stopped_job_id

    @_stopped_job_id.setter
    def _stopped_job_id(self, job_id: str | None) -> None:
        self.horse.stopped_job_id = job_id

    def _shutting_down(self) -> bool:
        return self._stop_requested

    # --- running a job -------------------------------------------------------------------

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Record `started` before the work-horse forks; skip jobs whose row is already final."""
        self.horse.begin(job.id)
        try:
            self._execute(job, queue)
        finally:
            self.horse.end()

    def _execute(self, job: Job, queue: Queue) -> None:
        if outcomes.record("started", job.id, self.name):
            super().execute_job(job, queue)
            return
        status = _status_or_none(job.id)
        if status is None or status in transitions.WAITING:
            # No row (or PostgreSQL unreachable): run it; the callbacks record what they can.
            super().execute_job(job, queue)
            return
        self.log.warning("Job %s is %s in PostgreSQL; not running it", job.id, status)
        self._discard(job, queue, status)

    def _discard(self, job: Job, queue: Queue, status: str) -> None:
        """Drop a popped job whose row is final, leaving RQ with the row's status.

        Canceled while the worker was popping it, or handed out again by RQ after it had
        already ended (a work-horse killed after its success was recorded, say).
        """
        try:
            self.connection.lrem(queue.intermediate_queue_key, 1, job.id)
            rqstate.settle(self.connection, job, JobStatus(status))
        except InvalidJobOperation:
            pass
        except RedisError as exc:
            self.outage.failed(exc)

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

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Fork, unless the job was asked to stop before it began (then there is no horse)."""
        if self.horse.stop_requested():
            return
        super().fork_work_horse(job, queue)
        self.horse.forked(self._horse_pid)

    def monitor_work_horse(self, job: Job, queue: Queue, execution: Any) -> None:
        """RQ's watch over the horse; a job stopped before the fork is settled here."""
        if not self._horse_pid:
            self._stopped_before_start(job, queue, execution)
            return
        try:
            super().monitor_work_horse(job, queue, execution)
        except UNREACHABLE as exc:
            # Heartbeats are guarded: what failed is RQ's wrap-up of a horse that died,
            # which starts by reading the job's status. Do it once Redis is back.
            self.outage.failed(exc)
            with contextlib.suppress(GaveUp):
                self.outage.call(lambda: self._wrap_up_dead_horse(job, queue, execution),
                                 self._shutting_down)

    def _stopped_before_start(self, job: Job, queue: Queue, execution: Any) -> None:
        """A stop that came before the fork: the job never runs and ends `stopped`, through
        RQ's own path for stopped jobs (stopped callback, then STOPPED in RQ)."""
        self.log.info("Job %s was asked to stop before its work-horse started; not run",
                      job.id)
        job.ended_at = now()
        with contextlib.suppress(RedisError):
            self.connection.lrem(queue.intermediate_queue_key, 1, job.id)
        self._handle_stopped_job(job, queue, execution)

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

    def wait_for_horse(self) -> tuple[Any, Any, Any]:
        """Wait until the horse exits, mark it exited, and only then reap it: a stop that
        comes in between must not signal its pid once another process has it."""
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self._horse_pid, os.WEXITED | os.WNOWAIT)
        self.horse.exited()
        self._horse_exit = super().wait_for_horse()
        return self._horse_exit

    # --- stop requests (RQ's pubsub thread) ---------------------------------------------

    def handle_payload(self, message: dict) -> None:
        """A worker command; stop-job goes through the horse record."""
        try:
            payload = parse_payload(message)
        except (ValueError, KeyError, TypeError, AttributeError):
            self.log.warning("Ignoring a malformed worker command: %.200r", message)
            return
        if payload.get("command") == "stop-job":
            self.stop_job(payload.get("job_id"))
        else:
            handle_command(self, payload)

    def stop_job(self, job_id: str | None) -> None:
        """Stop a job at whatever moment of its life it is; safe from any thread."""
        self.log.info("Stop request for job %s: %s", job_id, self.horse.request_stop(job_id))

    def request_stop_execution(self, execution_id: str) -> None:
        """RQ's stop-execution command, as a stop of the execution's job."""
        execution = self.executions.get(execution_id)
        if execution is None:
            self.log.info("Stop request for execution %s: not this worker's", execution_id)
            return
        self.stop_job(execution.job_id)

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the work-horse's process group; never the worker's own (RQ's kill_horse
        signals the group of pid 0, which is ours, when there is no horse)."""
        if not self.horse.signal(sig):
            self.log.info("No live work-horse to send %s to", signal.Signals(sig).name)

    # --- the work-horse ------------------------------------------------------------------

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        """Runs in the work-horse: use fresh database connections, never the parent's."""
        die_with_parent()
        if os.getppid() != self.pid:  # the worker died before the line above took effect
            os._exit(1)
        self.outage = outages.track("work-horse", self.connection)
        db.engine.dispose(close=False)
        try:
            return super().perform_job(job, queue, execution)
        finally:
            db.session.remove()
            db.engine.dispose()

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
        self.outage.call(lambda: super(CutroomWorker, self).handle_job_success(
            job, queue, started_job_registry, execution))

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry: Any = None,
                           exc_string: str = "", execution: Any = None) -> None:
        """A job interrupted by shutdown is queued again instead of failing."""
        if self.outage.down:  # RQ logs and drops a failure it cannot write
            with contextlib.suppress(GaveUp):
                self.outage.wait(self._shutting_down)
        if job.id != self._interrupted_job_id:
            super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)
            return
        with self.connection.pipeline() as pipeline:
            self.cleanup_execution(job, pipeline=pipeline, execution=execution)
            pipeline.execute()
        queue.enqueue_job(job, at_front=True)
        outcomes.record("interrupted", job.id)
        self._interrupted_job_id = None

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        """No callback fires when the work-horse dies: record it as killed (or retrying)."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        if job.id == self._interrupted_job_id:
            return  # killed on purpose at shutdown; handle_job_failure queues it again
        message, code = _death_message(job, ret_val)
        next_status = retry_status(job)
        if next_status:
            outcomes.record("retrying", job.id, next_status, message, code)
        else:
            outcomes.record("failed", job.id, message, code)

    # --- Redis outages in RQ's loops -----------------------------------------------------

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
        """RQ's worker heartbeat (skipped during an outage); also restarts the scheduler."""
        if pipeline is not None:
            super().heartbeat(timeout, pipeline)
            return
        self._tolerate(super().heartbeat, timeout)
        self._keep_scheduler()

    def maintain_heartbeats(self, job: Job, execution: Any) -> None:
        """RQ's heartbeat while a horse runs, mirrored into the row's heartbeat_at.

        During a Redis outage only PostgreSQL hears it: the horse finishes, its outcome is
        recorded, and RQ's heartbeats resume once Redis is back.
        """
        self._tolerate(super().maintain_heartbeats, job, execution)
        outcomes.try_quietly(outcomes.heartbeat, job.id)

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
        """RQ's pubsub thread (worker commands) waits outages out and reconnects; RQ's own
        handler logs every retry, and ends the thread on a timeout."""
        if isinstance(exc, UNREACHABLE):
            time.sleep(self.outage.failed(exc))
            return
        super()._pubsub_exception_handler(exc, pubsub, thread)

    # --- the scheduler -------------------------------------------------------------------

    def _start_scheduler(self, burst: bool = False, logging_level: Any = "INFO",
                         *args: Any, **kwargs: Any) -> None:
        """RQ's scheduler, as a CutroomScheduler (dies with the worker, rides out outages)."""
        self.scheduler = CutroomScheduler(self.queues, connection=self.connection,
                                          logging_level=logging_level or "INFO",
                                          serializer=self.serializer)
        if burst:
            super()._start_scheduler(burst, logging_level, *args, **kwargs)
            return
        self.scheduler.acquire_locks(auto_start=True)

    def _keep_scheduler(self) -> None:
        """Without a scheduler process (its lock was taken), try for the lock now and then,
        so that one worker takes over soon after another's scheduler ended."""
        if (self.scheduler is None or self.is_horse
                or time.monotonic() - self._scheduler_checked < SCHEDULER_RETRY):
            return
        self._scheduler_checked = time.monotonic()
        process = self.scheduler._process
        if process is None or not process.is_alive():
            self._tolerate(self.scheduler.acquire_locks, True)

    # --- shutdown ------------------------------------------------------------------------

    def request_stop(self, signum: int, frame: Any) -> None:
        """Warm shutdown (SIGTERM/SIGINT): the running job gets `shutdown_grace` seconds to
        finish; past that its work-horse is killed and the job goes back to the queue."""
        if self.get_state() == WorkerStatus.BUSY and self._grace_timer is None:
            self._grace_timer = threading.Timer(self.shutdown_grace, self._interrupt_current_job)
            self._grace_timer.daemon = True
            self._grace_timer.start()
        super().request_stop(signum, frame)

    def _interrupt_current_job(self) -> None:
        job_id = self.get_current_job_id()
        if job_id is None or not self.horse_pid:
            return
        self.log.warning("Job %s did not finish within %.0f s of shutdown; putting it back",
                         job_id, self.shutdown_grace)
        self._interrupted_job_id = job_id
        self.kill_horse()


def _status_or_none(job_id: str) -> str | None:
    try:
        return transitions.current_status(job_id)
    except Exception:
        db.session.rollback()
        return None


def _death_message(job: Job, ret_val: int | None) -> tuple[str, str]:
    """Why the work-horse died, as (message, error_code)."""
    started = job.started_at.timestamp() if job.started_at else None
    ran_for = time.time() - started if started else 0.0
    if job.timeout and job.timeout > 0 and ran_for > job.timeout:
        return (f"Timed out after {ran_for:.0f} s (limit {job.timeout} s); work-horse killed.",
                "timeout")
    if ret_val is not None and os.WIFSIGNALED(ret_val):
        number = os.WTERMSIG(ret_val)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return (f"The work-horse process was killed by {name} (out of memory or killed).", "killed")
    code = os.WEXITSTATUS(ret_val) if ret_val is not None and os.WIFEXITED(ret_val) else ret_val
    return f"The work-horse process died unexpectedly (exit status {code}).", "killed"
