"""A forking worker that records `started` while the work-horse starts, not before the fork.

Recording `started` is one conditional UPDATE and a commit, and background_jobs carries
the explorer's indexes (status, search...), so that write costs a few milliseconds: made
before the fork it was the largest part of what tracking adds to a short job
(bench/throughput.py). Made right after the fork it overlaps with the horse starting up,
on the worker's other core, and nothing is lost or reordered:

- the horse hands its outcome and progress to the worker (webapp.jobs.handoff), which
  applies them only after this write (drain.py), so `started` still comes first;
- a row that turned final in between (canceled as the job was popped, or a job RQ handed
  out again after its end was recorded) stops the horse at once, as a stop request does;
  RQ is then told the row's status (rqstate.settle), so the two agree as before;
- a cancel that comes before the write finds the row waiting and wins, and the write then
  stops the horse (above): the job is canceled, not half run;
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
from typing import Any

from redis.exceptions import RedisError
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus
from rq.queue import Queue

from webapp.extensions import db
from webapp.jobs import outcomes, rqstate, transitions
from webapp.jobs.worker.drain import DrainingWorker


class ForkedStartWorker(DrainingWorker):
    """Records each job's `started` just after forking its work-horse; stops it through
    the horse record of a StopSafeWorker, which must come next in the worker's classes
    (before RecordingWorker, so that stops count from the moment a job is popped)."""

    _refused: tuple[str, str] | None = None  # (job id, final status) of a horse stopped so

    def starts_after_fork(self, job_id: str) -> bool:
        return job_id not in self._owed_ids

    def horse_forked(self, job: Job) -> None:
        """`started`, while the horse starts; a row that is final by now stops the horse."""
        due = getattr(self, "_start_after_fork", None)
        if due is None or due[0] != job.id:
            return
        if outcomes.record(outcomes.started, job.id, self.name, due[1]):
            return
        status = row_status(job.id)
        if status is None or status in transitions.WAITING or not self._horse_pid:
            return  # no row, or PostgreSQL unreachable (queued in Redis): it runs
        self.log.warning("Job %s is %s in PostgreSQL; stopping its work-horse", job.id, status)
        self._refused = (job.id, status)
        self.horse.request_stop(job.id)

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
