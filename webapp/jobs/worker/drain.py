"""The worker process records what it and its jobs handed over (webapp.jobs.handoff).

The worker puts each job's `started` in its own list in Redis as it pops the job; a
work-horse without a PostgreSQL connection of its own (and every job of the light worker)
leaves its outcome, and its progress, in the same list. The worker applies the list
through its own pool in batches (BatchingWorker): at most every BATCH_EVERY seconds while
jobs keep coming, as soon as it finds its queues empty, at startup (what a killed run
under the same name left) and as it stops; a batch's `started`, progress and `finished`
marks are a few statements for all its jobs (webapp/jobs/batched.py), anything else one
outcome at a time, all in one transaction. A forking worker (DrainingWorker) applies it
just after forking (unless it did within BATCH_EVERY), so that the job's `started` and
the earlier jobs' outcomes are written while the horse runs (the two use both cores),
before RQ handles a killed or stopped horse (so a success that was handed over is never
recorded as killed), and once a second while a horse runs, so progress shows as it did
when the horse wrote it. Only what was applied is removed from the list; what is applied
twice (the worker died between the commit and the trim) changes nothing.

To see progress while the horse runs, the wait for it ends every PROGRESS_TICK seconds as
if RQ's monitoring interval had passed (a pidfd wakes the worker the moment the horse
exits); RQ's heartbeats still go out every job_monitoring_interval.
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# monitor_work_horse calls wait_for_horse inside a death penalty of job_monitoring_interval
# and, on HorseMonitorTimeoutException, checks the job's timeout (killing the horse and
# waiting for it again past timeout + 60 s) and calls maintain_heartbeats(job, execution);
# the private _horse_pid and _handle_stopped_job(job, queue, execution);
# handle_work_horse_killed(job, retpid, ret_val, rusage); bootstrap(...), teardown(),
# execute_job(job, queue), dequeue_job_and_maintain_ttl(timeout, max_idle_time) (with
# timeout None: one non-blocking try).

from __future__ import annotations

import contextlib
import os
import select
import time
from typing import Any

from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job, JobStatus
from rq.queue import Queue
from rq.timeouts import HorseMonitorTimeoutException

from webapp.extensions import db
from webapp.jobs import batched, handoff, outcomes, transitions

PROGRESS_TICK = 1.0  # seconds between reads of the horse's progress while it runs
BATCH_EVERY = 0.25  # seconds: the longest a handed-over event waits while jobs keep coming


class BatchingWorker(Worker):
    """A worker that records handed-over outcomes in batches: at most every BATCH_EVERY
    seconds while jobs keep coming, and as soon as its queues are empty."""

    _owed = False  # a job ran since the list was last applied
    handed_start: tuple[str, float] | None = None  # (job id, at) of the last `started` handed over
    _drained_at = 0.0  # time.monotonic() of the last drain

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        self.drain_outcomes()

    def record_started(self, job_id: str) -> bool:
        """Hand `started` (with its time) to this worker's list; False if RQ says the job
        was canceled since it was popped (the row then decides: see RecordingWorker).
        Without Redis, record it now. In order with what the list holds already: a retry's
        `started` comes after its failed attempt's `retrying`."""
        at = time.time()
        self.handed_start = None
        try:
            status = handoff.push_started(self.connection, self.name, job_id,
                                          Job.key_for(job_id), at)
        except RedisError:
            return outcomes.record(outcomes.started, job_id, self.name, at)
        self.handed_start = (job_id, at)
        return status != JobStatus.CANCELED.value.encode()

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            super().execute_job(job, queue)
        finally:
            self._owed = True

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None):
        """With outcomes owed, take the next job only if one waits (applying them first if
        they have waited BATCH_EVERY); else apply them, then wait for one."""
        if self._owed:
            if self.batch_due():
                self.drain_outcomes()
            else:
                result = super().dequeue_job_and_maintain_ttl(None, max_idle_time)
                if result is not None:
                    return result
                self.drain_outcomes()
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    def batch_due(self) -> bool:
        return time.monotonic() - self._drained_at >= BATCH_EVERY

    def teardown(self) -> None:
        self.drain_outcomes()
        super().teardown()

    def drain_outcomes(self, then: tuple | None = None) -> bool | None:
        """Apply what waits in this worker's list, oldest first, and `then` (an outcome,
        job id, args) last, in one transaction; returns whether `then` changed its row.
        With Redis unreachable only `then`: the list waits (the horse wrote PostgreSQL).
        A job whose `started` changed nothing goes to started_refused()."""
        self._owed, self._drained_at = False, time.monotonic()
        key = handoff.key_for(self.name)
        try:
            count, events = handoff.read(self.connection, key)
        except RedisError:
            count, events = 0, []
        quick, rest = batched.split(handoff.latest(events))
        items = [item for item in map(outcomes.from_event, rest) if item is not None]
        if then:
            items.append(then)
        refused: set[str] = set()
        results = outcomes.record_all(items, quick, refused) if (items or quick) else []
        if count:
            with contextlib.suppress(RedisError):  # left: applied again, changing nothing
                handoff.forget(self.connection, key, count)
        if refused:
            self.started_refused(refused)
        return results[-1] if then else None

    def started_refused(self, job_ids: set[str]) -> None:
        """These jobs' `started` changed nothing (their rows are final, say)."""


class DrainingWorker(BatchingWorker):
    """A forking worker that also records its horse's progress while it runs, and what it
    handed over before RQ deals with a killed or stopped horse."""

    _pidfd: int | None = None
    _beat_due = 0.0
    _killing = False  # the horse was signalled: wait for its end without ticks

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Fork; then, unless the list was applied within BATCH_EVERY, apply it while the
        horse runs: this job's `started` with the earlier jobs' outcomes."""
        super().fork_work_horse(job, queue)
        if self.batch_due():
            self.drain_outcomes()

    def monitor_work_horse(self, job: Job, queue: Queue, execution: Any) -> None:
        self._beat_due = time.monotonic() + self.job_monitoring_interval
        self._killing = False
        try:
            super().monitor_work_horse(job, queue, execution)
        finally:
            self._close_pidfd()

    def wait_for_horse(self) -> tuple[Any, Any, Any]:
        """Wait for the horse to exit; every PROGRESS_TICK s, let RQ's loop go round."""
        if self._horse_pid and not self._killing and not self._exits_within(PROGRESS_TICK):
            raise HorseMonitorTimeoutException("progress tick")
        self._close_pidfd()
        return super().wait_for_horse()

    def maintain_heartbeats(self, job: Job, execution: Any) -> None:
        """Each tick: the horse's progress; each job_monitoring_interval: RQ's heartbeats."""
        self.drain_outcomes()
        if time.monotonic() >= self._beat_due:
            self._beat_due = time.monotonic() + self.job_monitoring_interval
            super().maintain_heartbeats(job, execution)

    def started_refused(self, job_ids: set[str]) -> None:
        """The job whose horse runs now may be among them: RQ handed out a job whose row
        was final (canceled while Redis was unreachable, say, or ended before its horse was
        killed). Its horse is stopped: a final row's job does not run on."""
        horse = getattr(self, "horse", None)  # the Horse record of a StopSafeWorker
        job_id = horse.job_id if horse else None
        if job_id not in job_ids or not self._horse_pid:
            return
        status = row_status(job_id)
        if status in transitions.FINAL_STATUSES:
            self.log.warning("Job %s is %s in PostgreSQL; stopping its work-horse", job_id,
                             status)
            horse.request_stop(job_id)

    def kill_horse(self, *args: Any, **kwargs: Any) -> None:
        self._killing = True
        super().kill_horse(*args, **kwargs)

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        self.drain_outcomes()  # an outcome handed over before the kill comes first
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)

    def _handle_stopped_job(self, job: Job, queue: Queue, execution: Any) -> None:
        self.drain_outcomes()
        super()._handle_stopped_job(job, queue, execution)

    def _exits_within(self, seconds: float) -> bool:
        """Whether the horse exits within `seconds` (True where pidfds are unavailable:
        then RQ's own wait blocks until it does)."""
        if self._pidfd is None:
            try:
                self._pidfd = os.pidfd_open(self._horse_pid)
            except (OSError, AttributeError):
                return True
        readable, _, _ = select.select([self._pidfd], [], [], seconds)
        return bool(readable)

    def _close_pidfd(self) -> None:
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None


def row_status(job_id: str) -> str | None:
    """The row's status; the read's transaction ends here, before any fork (a work-horse
    must not inherit it, nor a transaction pooler's server connection stay held)."""
    try:
        return transitions.current_status(job_id)
    except Exception:
        return None
    finally:
        db.session.rollback()
