"""Outcomes that could not be written to PostgreSQL, queued in Redis until they can be.

One Redis list, appended by callbacks and workers and drained from the front by the
reconciler, so outcomes are applied in the order they happened.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from redis.exceptions import RedisError

from webapp.jobs.connection import get_redis

log = logging.getLogger(__name__)

KEY = "cutroom:pending-outcomes"


def push(name: str, job_id: str, args: list[Any]) -> bool:
    """Queue an outcome by its name in webapp.jobs.outcomes.OUTCOMES; False (and a loud log
    line) if Redis is down too."""
    event = json.dumps({"outcome": name, "job_id": job_id, "args": args, "at": time.time()})
    try:
        get_redis().rpush(KEY, event)
        return True
    except RedisError:
        log.error("Lost outcome %s of job %s: neither PostgreSQL nor Redis is reachable",
                  name, job_id)
        return False


def pending() -> int:
    return get_redis().llen(KEY)


def take() -> tuple[bytes, dict[str, Any] | None] | None:
    """The oldest queued outcome (raw, decoded), removed from the queue; None when empty.
    The decoded part is None when the item is not a JSON object (never queued by push)."""
    raw = get_redis().lpop(KEY)
    if raw is None:
        return None
    try:
        event = json.loads(raw)
    except ValueError:
        return raw, None
    return raw, event if isinstance(event, dict) else None


def put_back(raw: bytes) -> None:
    """Return an outcome to the front of the queue, to try it again first next time."""
    get_redis().lpush(KEY, raw)
