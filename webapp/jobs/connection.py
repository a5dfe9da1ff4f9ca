"""Redis and RQ accessors; one Redis client per process, made in the app factory."""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError
from redis.retry import Retry
from rq import Queue

from webapp import redis_client

_KEY = "cutroom.redis"
_QUICK_KEY = "cutroom.redis_quick"
# The quick client's timeouts (seconds): it serves what has a fallback or can wait.
QUICK_TIMEOUT = 0.5

# A worker's client: seconds to connect, seconds between liveness checks of an idle
# connection, and TCP keepalive (idle, interval, probes) to notice a peer that vanished.
WORKER_CONNECT_TIMEOUT = 5
WORKER_HEALTH_CHECK_INTERVAL = 15
KEEPALIVE = {getattr(socket, name): value for name, value in
             (("TCP_KEEPIDLE", 10), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
             if hasattr(socket, name)}


def init_app(app: Flask) -> None:
    """Create this process's Redis client; short timeouts so a dead Redis fails fast."""
    app.extensions[_KEY] = redis_client.connect(
        app.config,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )


def worker_redis(config: Mapping[str, Any], read_timeout: float) -> Redis:
    """The Redis client of a worker process (RQ's connection).

    RQ blocks in BLMOVE/BZPOPMIN for its dequeue timeout and needs a socket timeout 10 s
    above it: the worker sizes its dequeue from `read_timeout`, so every other call also
    gives up after `read_timeout` instead of hanging on a dead connection. One retry, on a
    reset connection only: redis-py's default of ten, each allowed a full read timeout,
    could hang for minutes; the worker waits outages out itself (webapp.jobs.redis_outage),
    and a Sentinel failover is one more outage: the next connection asks for the new master.
    """
    options = {
        "socket_connect_timeout": WORKER_CONNECT_TIMEOUT,
        "socket_timeout": read_timeout,
        "health_check_interval": WORKER_HEALTH_CHECK_INTERVAL,
        "retry": Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
    }
    if config.get("REDIS_SENTINELS") or not config["REDIS_URL"].startswith("unix:"):
        options.update(socket_keepalive=True, socket_keepalive_options=KEEPALIVE)  # TCP only
    return redis_client.connect(config, **options)


def get_redis() -> Redis:
    """The current app's Redis client."""
    return current_app.extensions[_KEY]


def get_quick_redis() -> Redis:
    """A client of the same Redis that gives up after QUICK_TIMEOUT and never retries, for
    calls that have a PostgreSQL fallback or can wait (the live pages' change tokens and
    session cache): an unreachable Redis costs them half a second, not the main client's
    retries."""
    client = current_app.extensions.get(_QUICK_KEY)
    if client is None:
        client = redis_client.like(get_redis(), socket_connect_timeout=QUICK_TIMEOUT,
                                   socket_timeout=QUICK_TIMEOUT, retry=None)
        current_app.extensions[_QUICK_KEY] = client
    return client


def get_queue(name: str, connection: Redis | None = None) -> Queue:
    """An RQ queue by name."""
    return Queue(name, connection=connection or get_redis())
