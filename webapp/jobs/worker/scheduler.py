"""RQ's scheduler process (delayed jobs, retry back-offs), made to die with its worker and to
outlive Redis outages.

RQ forks the scheduler from the worker and its loop ends on the first Redis error; the worker
restarts it only at its next maintenance, up to ten minutes later. A worker killed with
SIGKILL left its scheduler running, holding the scheduler lock, with no worker around it.
RQ also rebuilds its client from the worker's pool options, which cannot rebuild a
Sentinel-managed client: it copies the worker's client instead (webapp.redis_client.like).
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# RQScheduler.start() forks the process and runs work(); work()'s loop (acquire_locks when
# should_reacquire_locks, heartbeat, enqueue_scheduled_jobs, sleep interval) is repeated here; the
# private _stop_requested, _install_signal_handlers() and _process (read by the worker,
# cutroom.py); register_birth(), stop(), request_stop(signum, frame).

from __future__ import annotations

import contextlib
import os
import signal
import time
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq.scheduler import RQScheduler

from webapp import redis_client
from webapp.jobs import redis_outage
from webapp.parent_death import die_with_parent

# Seconds a scheduler told to stop may take to release its locks before it just exits.
STOP_GRACE = 10


class CutroomScheduler(RQScheduler):
    """The scheduler process of one worker."""

    def __init__(self, queues: Any, connection: Redis, **kwargs: Any):
        super().__init__(queues, connection=connection, **kwargs)
        self._worker_connection = connection

    @property
    def connection(self) -> Redis:
        """A client of its own, like the worker's (made again after the fork)."""
        if self._connection is None:
            self._connection = redis_client.like(self._worker_connection)
        return self._connection

    def start(self):
        """Fork the scheduler process (from the worker's main thread)."""
        self._worker_pid = os.getpid()
        return super().start()

    def work(self) -> None:
        """The scheduler process: RQ's loop, with outages waited out."""
        # SIGTERM, not SIGKILL, when the worker dies: the scheduler releases its locks on
        # the way out, so the next worker's scheduler takes over at once.
        die_with_parent(signal.SIGTERM)
        if os.getppid() != self._worker_pid:  # the worker died before that took effect
            return
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        self._install_signal_handlers()
        outage = redis_outage.track("scheduler", self.connection)
        born = False
        while not self._stop_requested:
            try:
                if not born:
                    self.register_birth()
                    born = True
                self._tick()
            except RedisError as exc:
                time.sleep(outage.failed(exc))
                continue
            outage.recovered()
            time.sleep(self.interval)
        with contextlib.suppress(RedisError):
            self.stop()

    def _tick(self) -> None:
        if self.should_reacquire_locks:
            self.acquire_locks()
        self.heartbeat()
        self.enqueue_scheduled_jobs()

    def request_stop(self, signum=None, frame=None) -> None:
        """Stop after this tick; exit anyway if a Redis call hangs for STOP_GRACE seconds."""
        super().request_stop(signum, frame)
        signal.alarm(STOP_GRACE)
