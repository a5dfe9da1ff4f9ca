"""The worker process records what its work-horse handed it (webapp.jobs.handoff).

A horse without a PostgreSQL connection of its own leaves its outcome, and its progress,
in the worker's list in Redis. The worker applies the list through its own pool: as soon
as the horse exits (before RQ's handling of a killed or stopped horse, so a success that
was handed over is never recorded as killed), once a second while it runs (progress shows
as it did when the horse wrote it), and at startup (what a killed run under the same name
left). Only what was applied is removed from the list.

To see progress while the horse runs, the wait for it ends every PROGRESS_TICK seconds as
if RQ's monitoring interval had passed (a pidfd wakes the worker the moment the horse
exits); RQ's heartbeats still go out every job_monitoring_interval.
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# monitor_work_horse calls wait_for_horse inside a death penalty of job_monitoring_interval
# and, on HorseMonitorTimeoutException, checks the job's timeout (killing the horse and
# waiting for it again past timeout + 60 s) and calls maintain_heartbeats(job, execution);
# the private _horse_pid and _handle_stopped_job(job, queue, execution);
# handle_work_horse_killed(job, retpid, ret_val, rusage); bootstrap(...).

from __future__ import annotations

import contextlib
import os
import select
import time
from typing import Any

from redis.exceptions import RedisError
from rq import Worker
from rq.job import Job
from rq.queue import Queue
from rq.timeouts import HorseMonitorTimeoutException

from webapp.extensions import db
from webapp.jobs import handoff, outcomes, transitions

PROGRESS_TICK = 1.0  # seconds between reads of the horse's progress while it runs


class DrainingWorker(Worker):
    """A forking worker that records the outcomes its work-horses hand it."""

    _pidfd: int | None = None
    _beat_due = 0.0
    _killing = False  # the horse was signalled: wait for its end without ticks

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        self.drain_outcomes()

    def monitor_work_horse(self, job: Job, queue: Queue, execution: Any) -> None:
        """RQ's watch over the horse, then what it handed over (still BUSY: a warm
        shutdown now waits for it)."""
        self._beat_due = time.monotonic() + self.job_monitoring_interval
        self._killing = False
        try:
            super().monitor_work_horse(job, queue, execution)
        finally:
            self._close_pidfd()
            self.drain_outcomes()

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

    def kill_horse(self, *args: Any, **kwargs: Any) -> None:
        self._killing = True
        super().kill_horse(*args, **kwargs)

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        self.drain_outcomes()  # an outcome handed over before the kill comes first
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)

    def _handle_stopped_job(self, job: Job, queue: Queue, execution: Any) -> None:
        self.drain_outcomes()
        super()._handle_stopped_job(job, queue, execution)

    def drain_outcomes(self) -> int:
        """Apply what waits in this worker's list, oldest first; returns how many items.
        With Redis unreachable, nothing: the list waits (the horse wrote PostgreSQL)."""
        key = handoff.key_for(self.name)
        try:
            count, events = handoff.read(self.connection, key)
        except RedisError:
            return 0
        for item in handoff.latest(events):
            apply(item)
        if count:
            with contextlib.suppress(RedisError):  # left: applied again, changing nothing
                handoff.forget(self.connection, key, count)
        return count

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


def apply(item: dict[str, Any]) -> None:
    """Record one handed-over item through this process's pool; never raises."""
    name, job_id, args = item["outcome"], str(item["job_id"]), item.get("args") or []
    if name == handoff.PROGRESS:
        try:
            transitions.record_progress(job_id, *args)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            handoff.log.warning("Could not record progress of job %s: %s", job_id, exc)
        return
    outcome = outcomes.OUTCOMES.get(name)
    if outcome is None:
        handoff.log.error("Dropping a handed-off outcome %r of job %s", name, job_id)
        return
    outcomes.record(outcome, job_id, *args)
