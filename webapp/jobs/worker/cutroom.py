"""The RQ worker that keeps PostgreSQL in step with every job it runs.

The parent process hands each job's `started` (RQ has no start callback) to its list in
Redis, in the round trip that also reads whether RQ canceled the job meanwhile and names
the worker in the RQ job (drain.py, webapp.jobs.handoff), then forks; it records
heartbeats and a killed work-horse through its own connection pool. The forked work-horse
runs the task and its success/failure callbacks; it opens no PostgreSQL connection unless
the task itself uses the database: its outcome and progress go to the same list, and the
worker records the list through its pool, in batches. A task that reads or writes its own
row records its `started` first (handoff.settle_start), so it finds its attempt counted. A
job canceled as it is popped is stopped wherever it is (webapp.jobs.service.cancel). The
light worker (light.py) runs without a work-horse.
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# - Worker methods overridden with RQ 3.0's signatures: execute_job (parent, before the
#   fork), perform_job (in the horse), maintain_heartbeats, heartbeat(timeout, pipeline),
#   request_stop(signum, frame), handle_job_failure(job, queue, started_job_registry,
#   exc_string, execution), handle_work_horse_killed(job, retpid, ret_val, rusage), and the
#   private _start_scheduler(burst, logging_level, ...) and _shutdown() (raises StopRequested
#   when no horse runs; set_shutdown_requested_date() is what it does otherwise);
# - calls: cleanup_execution(job, pipeline, execution), kill_horse(), horse_pid,
#   get_current_job_id(), get_state(), is_horse, self.scheduler, the private _stop_requested
#   (set while a warm shutdown waits for the job; RQ has stopped the scheduler by then), and
#   the RQScheduler's private _process (its scheduler process); queue.intermediate_queue_key
#   (the list a popped job sits in until its horse starts), queue.enqueue_job(job,
#   at_front=True).

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.worker import WorkerStatus

from webapp import parent_death
from webapp.extensions import db
from webapp.jobs import handoff, outcomes, rqstate, transitions
from webapp.jobs.callbacks import retry_status
from webapp.jobs.timeouts import DeathPenalty
from webapp.jobs.worker.drain import BatchingWorker, DrainingWorker, row_status
from webapp.jobs.worker.pauses import PauseAwareWorker
from webapp.jobs.worker.scheduler import CutroomScheduler
from webapp.jobs.worker.stops import StopSafeWorker
from webapp.jobs.worker.vitals import vitals
from webapp.parent_death import die_with_parent

# How often a worker whose scheduler is not running tries to take the scheduler lock.
SCHEDULER_RETRY = 15.0
VITALS_EVERY = 1.0  # seconds: at most this often, the worker's memory in its RQ hash


class RecordingWorker(BatchingWorker):
    """A forking RQ worker that records each job's state in PostgreSQL."""

    def __init__(self, *args: Any, shutdown_grace: float = 20.0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.shutdown_grace = shutdown_grace
        self._grace_timer: threading.Timer | None = None
        self._interrupted_job_id: str | None = None
        handoff.watch_connections()  # here, once: each work-horse inherits them
        parent_death.libc()

    _starting = False  # between popping a job and knowing whether `started` was recorded
    _launching = False  # from then until RQ says busy (its horse about to fork)
    _horse_pool = None  # the empty pool every work-horse starts with (never used here)

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Record `started` before the work-horse forks; skip jobs whose row is already final.
        A stop requested meanwhile puts the job back in the queue instead of running it."""
        self._starting = True
        try:
            recorded = self.record_started(job.id)
            status = None if recorded else row_status(job.id)
        finally:
            self._starting = False
        if self._stop_requested:
            self._put_back(job, queue, recorded)
            return
        if recorded or status is None or status in transitions.WAITING:
            # (No row, or PostgreSQL unreachable: run it; the callbacks record what they can.)
            self._launch(job, queue)
            return
        self.log.warning("Job %s is %s in PostgreSQL; not running it", job.id, status)
        self._discard(job, queue, status)

    def _launch(self, job: Job, queue: Queue) -> None:
        """RQ's execute_job, for a job whose start is recorded: a stop from now on lets it
        run (see _shutdown)."""
        self._launching = True
        try:
            if self._horse_pool is None:  # made once: a new pool per horse cost ~0.4 ms a job
                self._horse_pool = db.engine.pool.recreate()
            super().execute_job(job, queue)
        finally:
            self._launching = False

    def _shutdown(self) -> None:
        """With no work-horse yet, RQ raises StopRequested from the signal handler, wherever
        the worker is: between popping a job and forking, that is inside the PostgreSQL
        write recording `started`, whose error handling swallowed it, and the worker ran on
        ignoring the stop; or just after it, and the worker left a started job it never
        ran. Note the stop instead: during the write execute_job puts the job back; once
        `started` is recorded the job runs, as a job already running would, then the
        worker stops."""
        if self._starting or (self._launching and self.get_state() != WorkerStatus.BUSY):
            self._stop_requested = True
            self.set_shutdown_requested_date()
            return
        super()._shutdown()

    def _put_back(self, job: Job, queue: Queue, recorded: bool) -> None:
        """A job popped as the worker was told to stop goes back to the front of its queue,
        its attempt not counted."""
        self.log.info("Job %s goes back to the queue: the worker is stopping", job.id)
        try:
            self.connection.lrem(queue.intermediate_queue_key, 1, job.id)
            queue.enqueue_job(job, at_front=True)
        except RedisError as exc:  # the reconciler finds it (a started row, no worker)
            self.log.warning("Could not put job %s back in Redis: %s", job.id, exc)
        if recorded:  # after whatever waits in the list (maybe this `started`)
            self.drain_outcomes((outcomes.interrupted, job.id, []))

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
            self.log.warning("Could not discard job %s in Redis: %s", job.id, exc)

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        """In a work-horse: never the parent's connections, and none at all unless the task
        uses the database (outcomes go to the worker process). Without a horse (the light
        worker): the job runs here, on this process's pool."""
        if not self.is_horse:
            return super().perform_job(job, queue, execution)
        die_with_parent()
        if os.getppid() != self.pid:  # the worker died before the line above took effect
            os._exit(1)
        db.engine.pool = self._horse_pool or db.engine.pool.recreate()  # the parent's: untouched
        handoff.begin(self.connection, self.name, start=self._early_start(job.id))
        try:
            return super().perform_job(job, queue, execution)
        finally:
            connected = handoff.end()
            db.session.remove()
            if connected:
                db.engine.dispose()

    def _early_start(self, job_id: str) -> Callable[[], None] | None:
        """In the horse: how to record the `started` handed over for this job, should the
        task read or write its row before the worker has recorded it (handoff.settle_start):
        a task reading its row finds it started, its attempt counted."""
        if self.handed_start is None or self.handed_start[0] != job_id:
            return None
        at, name = self.handed_start[1], self.name

        def started(job_id: str) -> bool:
            return outcomes.started(job_id, name, at)

        return lambda: outcomes.try_quietly(started, job_id)

    def maintain_heartbeats(self, job: Job, execution: Any) -> None:
        """RQ's heartbeat (every job_monitoring_interval), mirrored into the row's
        heartbeat_at: PostgreSQL hears it even while Redis does not."""
        super().maintain_heartbeats(job, execution)
        outcomes.try_quietly(outcomes.heartbeat, job.id)

    def request_stop(self, signum: int, frame: Any) -> None:
        """Warm shutdown (SIGTERM/SIGINT): the running job gets `shutdown_grace` seconds to
        finish; past that its work-horse is killed and the job goes back to the queue."""
        busy = self.get_state() == WorkerStatus.BUSY or self._launching
        if busy and self._grace_timer is None:
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

    def handle_job_failure(self, job: Job, queue: Queue, started_job_registry: Any = None,
                           exc_string: str = "", execution: Any = None) -> None:
        """A job interrupted by shutdown is queued again instead of failing."""
        if job.id != self._interrupted_job_id:
            super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)
            return
        with self.connection.pipeline() as pipeline:
            self.cleanup_execution(job, pipeline=pipeline, execution=execution)
            pipeline.execute()
        queue.enqueue_job(job, at_front=True)
        self.drain_outcomes((outcomes.interrupted, job.id, []))  # after its `started`
        self._interrupted_job_id = None
        # RQ has just logged this job as failed; it is not.
        self.log.info("Job %s is back in the queue, its attempt not counted", job.id)

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        """No callback fires when the work-horse dies: record it as killed (or retrying)."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        if job.id == self._interrupted_job_id:
            return  # killed on purpose at shutdown; handle_job_failure queues it again
        message, code = _death_message(job, ret_val)
        next_status = retry_status(job)
        if next_status:
            outcomes.record(outcomes.retrying, job.id, next_status, message, code)
        else:
            outcomes.record(outcomes.failed, job.id, message, code)


class KeptWorker(RecordingWorker, PauseAwareWorker):
    """What every Cutroom worker is: the job's life is recorded in PostgreSQL
    (RecordingWorker), paused queues are left alone (PauseAwareWorker), Redis outages are
    waited out (its base, OutageSafeWorker), and its scheduler process dies with it
    (CutroomScheduler)."""

    death_penalty_class = DeathPenalty
    _scheduler_checked = 0.0
    _vitals_due = 0.0

    def _start_scheduler(self, burst: bool = False, logging_level: Any = "INFO",
                         *args: Any, **kwargs: Any) -> None:
        """RQ's scheduler, as a CutroomScheduler."""
        if burst:  # enqueue what is due, then go (RQ's own way)
            super()._start_scheduler(burst, logging_level, *args, **kwargs)
            return
        self.scheduler = CutroomScheduler(self.queues, connection=self.connection,
                                          logging_level=logging_level or "INFO",
                                          serializer=self.serializer)
        self.scheduler.acquire_locks(auto_start=True)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """RQ's worker heartbeat, with this worker's memory and its work-horse's (vitals.py);
        now and then also a try for the scheduler lock. RQ beats several times a job: the
        memory goes out at most once a VITALS_EVERY seconds."""
        super().heartbeat(timeout, pipeline)
        if self.is_horse or time.monotonic() < self._vitals_due:
            return  # the horse: RQ's heartbeat as it starts, the worker's own is enough
        self._vitals_due = time.monotonic() + VITALS_EVERY
        fields = vitals(self._horse_pid, self.job_monitoring_interval)
        if pipeline is not None:
            pipeline.hset(self.key, mapping=fields)
            return
        self._tolerate(lambda: self.connection.hset(self.key, mapping=fields))
        self._keep_scheduler()

    def _keep_scheduler(self) -> None:
        """Without a scheduler process (another worker had the lock), try for the lock
        every SCHEDULER_RETRY seconds: one worker takes over soon after another's ended.
        Not while this one shuts down (RQ stopped its scheduler on purpose)."""
        if (not isinstance(self.scheduler, CutroomScheduler) or self.is_horse  # burst: none
                or self._stop_requested
                or time.monotonic() - self._scheduler_checked < SCHEDULER_RETRY):
            return
        self._scheduler_checked = time.monotonic()
        process = self.scheduler._process
        if process is None or not process.is_alive():
            self._tolerate(self.scheduler.acquire_locks, True)


class CutroomWorker(DrainingWorker, StopSafeWorker, KeptWorker):
    """Cutroom's forking worker: a KeptWorker whose stops count from the moment a job is
    popped (StopSafeWorker) and whose work-horses hand their outcomes to it
    (DrainingWorker)."""


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
