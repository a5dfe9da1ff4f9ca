"""A forking worker that records `started` while the work-horse starts, not before the fork.

Recording `started` is one conditional UPDATE and a commit, and background_jobs carries
the explorer's indexes (status, search...), so that write costs a few milliseconds: made
before the fork it was the largest part of what tracking adds to a short job
(bench/throughput.py). Made right after the fork it overlaps with the horse starting up
(a fresh process takes about as long to reach the job), on the worker's other core. The
horse waits at a gate (a pipe the worker closes once the write is done) before it runs
the task, so a task still finds its row `started`, its attempt counted, and nothing is
lost or reordered:

- the horse hands its outcome and progress to the worker (webapp.jobs.handoff), which
  applies them only after this write (drain.py), so `started` still comes first;
- a row that turned final in between (canceled as the job was popped, or a job RQ handed
  out again after its end was recorded) stops the horse at its gate, as a stop request
  does, so the job does not run; RQ is then told the row's status (rqstate.settle), so the
  two agree as before;
- a cancel that comes before the write finds the row waiting and wins, and the write then
  stops the horse (above): the job is canceled, never run;
- with PostgreSQL unreachable the write is queued in Redis (outcomes.record) and the job
  runs, as it did before.

An attempt that runs again on the worker that handed over its earlier outcome (a retry)
still records `started` before the fork, after those outcomes (DrainingWorker).
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# fork_work_horse sets the private _horse_pid in the parent; a horse killed while RQ's
# _stopped_job_id names its job goes through _handle_stopped_job(job, queue, execution)
# (the stopped callback, then handle_job_failure: STOPPED, never retried).

from __future__ import annotations

import contextlib
import os
import select
from typing import Any

from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus
from rq.queue import Queue

from webapp.extensions import db
from webapp.jobs import outcomes, rqstate, transitions
from webapp.jobs.worker.drain import DrainingWorker

# Seconds a horse waits at its gate at most; the worker's write is bounded by PostgreSQL's
# statement timeout and the client deadline (webapp/database.py), well within this.
GATE_TIMEOUT = 120.0


class ForkedStartWorker(DrainingWorker):
    """Records each job's `started` just after forking its work-horse; stops it through
    the horse record of a StopSafeWorker, which must come next in the worker's classes
    (before RecordingWorker, so that stops count from the moment a job is popped)."""

    _refused: tuple[str, str] | None = None  # (job id, final status) of a horse stopped so
    _gate: tuple[int, int] | None = None  # (read, write) ends of the current horse's gate

    def starts_after_fork(self, job_id: str) -> bool:
        return job_id not in self._owed_ids

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        due = getattr(self, "_start_after_fork", None)
        if due is not None and due[0] == job.id:
            self._gate = os.pipe()
        try:
            super().fork_work_horse(job, queue)  # the horse does not come back from this
        finally:
            self._open_gate()

    def horse_forked(self, job: Job) -> None:
        """`started`, while the horse starts; then the horse may run the job, unless its
        row is final by now: then the horse is stopped at its gate."""
        if self._gate is None:
            return
        if not outcomes.record(outcomes.started, job.id, self.name,
                               self._start_after_fork[1]):
            self._refuse_if_final(job)
        self._open_gate()

    def _refuse_if_final(self, job: Job) -> None:
        status = row_status(job.id)
        if status is None or status in transitions.WAITING or not self._horse_pid:
            return  # no row, or PostgreSQL unreachable (queued in Redis): it runs
        self.log.warning("Job %s is %s in PostgreSQL; stopping its work-horse", job.id, status)
        self._refused = (job.id, status)
        self.horse.request_stop(job.id)

    def _open_gate(self) -> None:
        """In the worker: close both ends; the horse's read then ends (EOF)."""
        gate, self._gate = self._gate, None
        for end in gate or ():
            with contextlib.suppress(OSError):
                os.close(end)

    def wait_for_start(self) -> None:
        """In the horse: close its copy of the write end, then wait for the worker's (EOF:
        `started` recorded, or the worker gone, which die_with_parent answers)."""
        if self._gate is None:
            return
        read, write = self._gate
        os.close(write)
        select.select([read], [], [], GATE_TIMEOUT)
        os.close(read)

    def _handle_stopped_job(self, job: Job, queue: Queue, execution: Any) -> None:
        super()._handle_stopped_job(job, queue, execution)
        refused, self._refused = self._refused, None
        if refused is None or refused[0] != job.id:
            return
        try:  # RQ has just marked it stopped: it takes the row's status instead
            rqstate.settle(self.connection, job, JobStatus(refused[1]))
        except InvalidJobOperation:
            pass
        except RedisError as exc:
            self.log.warning("Could not settle job %s in Redis: %s", job.id, exc)


def row_status(job_id: str) -> str | None:
    """The row's status; the read's transaction ends here, before any fork (a work-horse
    must not inherit it, nor a transaction pooler's server connection stay held)."""
    try:
        return transitions.current_status(job_id)
    except Exception:
        return None
    finally:
        with contextlib.suppress(Exception):
            db.session.rollback()
