"""The worker's record of its current job and work-horse, safe to use from any thread.

RQ carries out stop commands on its pubsub thread while the main thread forks and reaps
the work-horse, and RQ's kill_horse() signals the process group of `horse_pid`: with no
horse (pid 0) that is the worker's own group, so the worker and its scheduler die. This
record knows, under one lock, where the job is in its life, so that a stop is never lost
and never lands on the worker:

- popped, not forked yet: the stop is remembered and the worker does not run the job;
- forked, pid not known yet: remembered; the horse is killed as soon as its pid is known;
- running: the horse's process group is killed;
- the horse has exited: nothing to do (it is not reaped before `exited()`, so its pid
  cannot have been handed to another process meanwhile).
"""

# No RQ import, but RQ behaviour relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in
# pyproject.toml): RQ's private _stopped_job_id (kept here as stopped_job_id) marks the job
# stopped on request; the forked horse calls os.setpgrp() first thing, so for a moment it is
# still in the worker's group; RQ's kill_horse() signals os.getpgid(horse_pid); RQ's
# wait_for_horse() reaps with os.wait4 (stops.py waits with WNOWAIT first and calls exited()).

from __future__ import annotations

import os
import signal
import threading


class Horse:
    """Phase, pid and stop request of the job a worker is handling."""

    def __init__(self) -> None:
        # Re-entrant: a signal handler on the main thread may stop the horse while the
        # main thread holds the lock.
        self._lock = threading.RLock()
        self.job_id: str | None = None
        self.pid = 0
        self.has_exited = False
        self.stopped_job_id: str | None = None  # RQ's `_stopped_job_id`, kept here

    def begin(self, job_id: str) -> None:
        """The worker popped `job_id`: from now on a stop for it is honoured."""
        with self._lock:
            self.job_id, self.pid, self.has_exited = job_id, 0, False
            self.stopped_job_id = None

    def end(self) -> None:
        """The worker is done with the job (its outcome is handled)."""
        with self._lock:
            self.job_id, self.pid = None, 0

    def request_stop(self, job_id: str | None) -> str:
        """Stop `job_id` if it is this worker's; returns what happened, for the log."""
        with self._lock:
            if job_id is None or job_id != self.job_id:
                return "not this worker's job"
            if self.has_exited:
                return "its work-horse had already ended"
            self.stopped_job_id = job_id
            if self._signal(signal.SIGKILL):
                return "work-horse killed"
            return "no work-horse yet: stopped as it starts"

    def stop_requested(self) -> bool:
        """Whether the current job was asked to stop (checked just before the fork)."""
        with self._lock:
            return self.job_id is not None and self.stopped_job_id == self.job_id

    def forked(self, pid: int) -> None:
        """The horse's pid is known; a stop that came in meanwhile kills it now."""
        with self._lock:
            self.pid = pid
            if self.stopped_job_id == self.job_id:
                self._signal(signal.SIGKILL)

    def exited(self) -> None:
        """The horse has exited (call before reaping it): signals are no-ops from now on."""
        with self._lock:
            self.has_exited = True

    def signal(self, sig: int) -> bool:
        """Signal the live horse's process group; False when there is no live horse."""
        with self._lock:
            return self._signal(sig)

    def _signal(self, sig: int) -> bool:
        if self.pid <= 0 or self.has_exited:
            return False
        try:
            group = os.getpgid(self.pid)
            if group == os.getpgrp():  # forked, but not yet in a group of its own
                os.kill(self.pid, sig)
            else:
                os.killpg(group, sig)
        except ProcessLookupError:
            return False
        return True
