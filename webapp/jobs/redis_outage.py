"""Riding out Redis outages: back-off between attempts and one log line per outage.

Each worker process (the worker, its work-horse, its scheduler) keeps one `Outage`, shared
by its threads. The first failed Redis call of an outage logs one line and the first call
that works again logs one more. In between, callers that need Redis wait (`wait`, `call`),
probing it with a client that gives up quickly, and callers that can do without it skip
(`usable`), so that no one hangs on the worker's own client, whose read timeout has to be
longer than RQ's blocking dequeue.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from redis import Redis
from redis.exceptions import ConnectionError, TimeoutError

from webapp import redis_client

log = logging.getLogger(__name__)
T = TypeVar("T")

# What an unreachable Redis raises: a reset or refused connection, a read timeout.
UNREACHABLE = (ConnectionError, TimeoutError)
PROBE_TIMEOUT = 3.0


class GaveUp(Exception):
    """Waiting for Redis was abandoned (the process is shutting down)."""


class Outage:
    """Whether this process can reach Redis."""

    def __init__(self, who: str, probe: Redis | Callable[[], Redis] | None = None,
                 first: float = 0.5, cap: float = 10.0):
        self.who, self._probe = who, probe
        self.first, self.cap = first, cap
        self._lock = threading.Lock()
        self.since: float | None = None  # monotonic time of the outage's first failure
        self._delay = first
        self._next_try = 0.0

    @property
    def probe(self) -> Redis | None:
        """The probing client, made at its first use (a work-horse rarely needs one, and
        making a client costs milliseconds)."""
        if callable(self._probe) and not isinstance(self._probe, Redis):
            self._probe = self._probe()
        return self._probe

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, exc: BaseException) -> float:
        """Note a failed Redis call; returns the seconds to wait before the next attempt."""
        with self._lock:
            now = time.monotonic()
            if self.since is None:
                self.since, self._delay = now, self.first
                log.warning("Redis unreachable (%s): %s: %s; retrying with back-off",
                            self.who, type(exc).__name__, exc)
            else:
                self._delay = min(self._delay * 2, self.cap)
            self._next_try = now + self._delay
            return self._delay

    def recovered(self) -> None:
        """Note a Redis call that worked; the first one after an outage logs its end."""
        if self.since is None:
            return
        with self._lock:
            if self.since is not None:
                log.warning("Redis reachable again (%s) after %.1f s", self.who,
                            time.monotonic() - self.since)
                self.since = None

    def usable(self) -> bool:
        """For calls that can be skipped: False during an outage, probing (quickly) once
        its back-off has passed."""
        if self.since is None:
            return True
        if time.monotonic() < self._next_try:
            return False
        return self._ping()

    def wait(self, give_up: Callable[[], bool] = lambda: False) -> None:
        """Block (backing off) until Redis answers; raises GaveUp when give_up() says so."""
        while True:
            time.sleep(max(0.0, self._next_try - time.monotonic()))
            if self._ping():
                return
            if give_up():
                raise GaveUp(f"gave up waiting for Redis ({self.who})")

    def call(self, action: Callable[[], T], give_up: Callable[[], bool] = lambda: False) -> T:
        """action(), retried until it gets through Redis, waiting outages out in between."""
        while True:
            try:
                result = action()
            except UNREACHABLE as exc:
                self.failed(exc)
                self.wait(give_up)
                continue
            self.recovered()
            return result

    def _ping(self) -> bool:
        if self.probe is None:  # nothing to probe with: the next real call will tell
            return True
        try:
            self.probe.ping()
        except UNREACHABLE as exc:
            self.failed(exc)
            return False
        self.recovered()
        return True


def probe_client(client: Redis, timeout: float = PROBE_TIMEOUT) -> Redis:
    """A client for the same server (or Sentinel master) as `client` that gives up on a
    call after `timeout` s."""
    return redis_client.like(client, socket_timeout=timeout, socket_connect_timeout=timeout,
                             retry=None, health_check_interval=0)


_current: Outage | None = None


def track(who: str, client: Redis) -> Outage:
    """Start tracking this process's outages of the Redis server `client` talks to."""
    global _current
    _current = Outage(who, lambda: probe_client(client))
    return _current


def current() -> Outage:
    """This process's outage record (one without a probe if nothing called track())."""
    global _current
    if _current is None:
        _current = Outage(f"pid {os.getpid()}")
    return _current


def _forget() -> None:
    global _current
    _current = None


# A forked child tracks its own outages, with a lock no thread of its parent holds.
os.register_at_fork(after_in_child=_forget)
