"""Redis and RQ accessors; one Redis client per process, made in the app factory."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis
from rq import Queue

_KEY = "cutroom.redis"


def init_app(app: Flask) -> None:
    """Create this process's Redis client; short timeouts so a dead Redis fails fast."""
    app.extensions[_KEY] = Redis.from_url(
        app.config["REDIS_URL"],
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )


def get_redis() -> Redis:
    """The current app's Redis client."""
    return current_app.extensions[_KEY]


def get_queue(name: str, connection: Redis | None = None) -> Queue:
    """An RQ queue by name."""
    return Queue(name, connection=connection or get_redis())
