"""RQ's forking worker, safe to stop at any moment of a job's life.

Stop commands arrive on RQ's pubsub thread while the main thread pops the job, forks the
work-horse and reaps it. They go through a thread-safe record of the job and its horse
(horse.py), so that a stop before the fork means the job never runs, one during the fork
kills the horse as soon as its pid is known, one after the horse ended does nothing, and no
stop ever reaches RQ's kill_horse() with no horse (which would kill the worker's own
process group: the worker and its scheduler).
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# - the private _stopped_job_id, which RQ reads and writes in monitor_work_horse,
#   handle_job_failure and request_stop_execution (here a property over the Horse record;
#   RQ's __init__ assigns it, hence the Horse is made before super().__init__);
# - the private _horse_pid, set by fork_work_horse in the parent, and the horse's os.setpgrp()
#   right after the fork; kill_horse() signalling os.getpgid(horse_pid) (with pid 0: the
#   worker's own group);
# - Worker methods overridden: execute_job, fork_work_horse, monitor_work_horse,
#   wait_for_horse (RQ reaps with os.wait4), handle_payload (the pubsub handler),
#   request_stop_execution, kill_horse; the private _handle_stopped_job (runs
#   execute_stopped_callback, then handle_job_failure); self.executions (Execution by id);
# - rq.command.parse_payload and handle_command; queue.intermediate_queue_key.

from __future__ import annotations

import contextlib
import os
import signal
from typing import Any

from redis.exceptions import RedisError
from rq import Worker
from rq.command import handle_command, parse_payload
from rq.job import Job
from rq.queue import Queue
from rq.utils import now

from webapp.jobs.worker.horse import Horse


class StopSafeWorker(Worker):
    """A forking worker whose stop requests are honoured at every moment, from any thread."""

    def __init__(self, *args: Any, **kwargs: Any):
        self.horse = Horse()  # before RQ's __init__, which sets _stopped_job_id
        super().__init__(*args, **kwargs)

    # RQ reads and writes `_stopped_job_id` on two threads: it lives in the horse record.
    @property
    def _stopped_job_id(self) -> str | None:
        return self.horse.stopped_job_id

    @_stopped_job_id.setter
    def _stopped_job_id(self, job_id: str | None) -> None:
        self.horse.stopped_job_id = job_id

    def execute_job(self, job: Job, queue: Queue) -> None:
        """From the moment the job is popped until its outcome is handled, stops count."""
        self.horse.begin(job.id)
        try:
            super().execute_job(job, queue)
        finally:
            self.horse.end()

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        """Fork, unless the job was asked to stop before it began (then there is no horse)."""
        if self.horse.stop_requested():
            return
        super().fork_work_horse(job, queue)
        self.horse.forked(self._horse_pid)

    def monitor_work_horse(self, job: Job, queue: Queue, execution: Any) -> None:
        """RQ's watch over the horse; a job stopped before the fork is settled here."""
        if self._horse_pid:
            super().monitor_work_horse(job, queue, execution)
            return
        self.log.info("Job %s was asked to stop before its work-horse started; not run",
                      job.id)
        job.ended_at = now()
        with contextlib.suppress(RedisError):
            self.connection.lrem(queue.intermediate_queue_key, 1, job.id)
        # RQ's own path for a stopped job: the stopped callback, then STOPPED in RQ.
        self._handle_stopped_job(job, queue, execution)

    def wait_for_horse(self) -> tuple[Any, Any, Any]:
        """Wait until the horse exits, mark it exited, and only then reap it: a stop that
        comes in between must not signal its pid once another process has it."""
        with contextlib.suppress(ChildProcessError):
            os.waitid(os.P_PID, self._horse_pid, os.WEXITED | os.WNOWAIT)
        self.horse.exited()
        return super().wait_for_horse()

    def handle_payload(self, message: dict) -> None:
        """A worker command (pubsub thread); stop-job goes through the horse record."""
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
        """Stop a job at whatever moment of its life it is."""
        self.log.info("Stop request for job %s: %s", job_id, self.horse.request_stop(job_id))

    def request_stop_execution(self, execution_id: str) -> None:
        """RQ's stop-execution command, as a stop of the execution's job."""
        execution = self.executions.get(execution_id)
        if execution is None:
            self.log.info("Stop request for execution %s: not this worker's", execution_id)
            return
        self.stop_job(execution.job_id)

    def kill_horse(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the work-horse's process group, never the worker's own."""
        if not self.horse.signal(sig):
            self.log.info("No live work-horse to send %s to", signal.Signals(sig).name)
