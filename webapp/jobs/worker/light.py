"""The light worker: Cutroom's recording without a work-horse, for a queue of short jobs.

It runs each job in its own process, as RQ's SimpleWorker does, and nothing it records
waits for PostgreSQL: `started`, progress and the callbacks' outcome go to the worker's
list in Redis (webapp.jobs.handoff), and the worker records them in batches through its
one pool (drain.py: at most every BATCH_EVERY seconds while jobs keep coming, as soon as
its queues are empty, and as it stops), a few statements for a batch of jobs
(webapp/jobs/batched.py). So a row shows `started` a moment after the job began, or
straight as finished; a worker killed at any moment leaves its list to its next start
under the same name or to the reconciler, as a forking worker's horse does.

A job canceled between its pop and its start is not run: the `started` push reads the
job's status in RQ in the same round trip (a cancel commits the row, then cancels in RQ).
A cancel that comes once the job has begun, before its `started` is recorded, finds the
row still queued and wins: the row says canceled, the job's outcome is dropped.

What else it gives up, which is why it serves only queues of short jobs
(`flask jobs worker --light -q QUEUE`):

- a running job cannot be stopped (there is no horse to kill; a stop request is logged
  and the job runs to its end), and a job past its timeout is interrupted by an alarm in
  the worker itself, not killed;
- no heartbeat goes out while a job runs, and its progress shows once it has ended; the
  worker's TTL covers the job's timeout;
- a job that crashes the interpreter (or runs out of memory) takes the worker with it; the
  reconciler then finds its row abandoned, as for any worker that died.
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# SimpleWorker is a BaseWorker, not a Worker, so its two methods (execute_job without a
# fork, get_heartbeat_ttl) are borrowed here by a Worker subclass that sits last before
# rq.Worker, under the Cutroom mixins; RQ's stop-job command calls kill_horse(); the job
# hash's `status` field (Job.key_for), "canceled" once Job.cancel() ran.

from __future__ import annotations

import signal
from typing import Any

from rq import SimpleWorker, Worker
from rq.job import Job
from rq.queue import Queue

from webapp.jobs import handoff
from webapp.jobs.worker.cutroom import KeptWorker


class NonForkingWorker(Worker):
    """rq.Worker's interface with SimpleWorker's way of running a job: in this process."""

    execute_job = SimpleWorker.execute_job
    get_heartbeat_ttl = SimpleWorker.get_heartbeat_ttl

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """There is no horse: never signal (RQ's would kill this worker's process group)."""
        self.log.warning("A light worker cannot stop a running job; it runs to its end")


class LightWorker(KeptWorker, NonForkingWorker):
    """Cutroom's recording (KeptWorker) with jobs run in the worker process itself."""

    def perform_job(self, job: Job, queue: Queue, execution: Any) -> bool:
        """Run the job here; its outcome goes to this worker's list (webapp.jobs.handoff)."""
        handoff.begin(self.connection, self.name, always=True,
                      start=self._early_start(job.id))
        try:
            return super().perform_job(job, queue, execution)
        finally:
            handoff.end()
