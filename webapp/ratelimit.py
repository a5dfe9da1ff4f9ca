"""Rate limits shared by every web process, counted in Redis by the `limits` library.

A limit is counted before the work it guards (`hit` first, then act), so parallel requests
cannot slip past it: of sixteen simultaneous attempts against "5 per 15 minutes", exactly
five go through. Redis being down raises RedisError; callers answer 503 rather than let
requests through unlimited.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache

from flask import Flask, current_app
from limits import RateLimitItem, parse
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis import Redis

_KEY = "cutroom.ratelimits"
PREFIX = "cutroom:limits"


@dataclass(frozen=True)
class Refusal:
    """A request over a limit: which limit, and how long until the next one is allowed."""

    limit: str
    retry_after: int  # whole seconds, at least 1


@lru_cache(maxsize=64)
def parse_limit(text: str) -> RateLimitItem:
    """'5 per 15 minutes' (the `limits` notation) as a limit item; ValueError if malformed."""
    return parse(text)


class RateLimits:
    """Moving-window limits over this process's Redis connection pool."""

    def __init__(self, storage: RedisStorage):
        self.limiter = MovingWindowRateLimiter(storage)

    def hit(self, limit: str, *keys: str, cost: int = 1) -> Refusal | None:
        """Count one attempt against `limit` for `keys`; a Refusal if it is over the limit
        (and then nothing is counted)."""
        item = parse_limit(limit)
        if self.limiter.hit(item, *keys, cost=cost):
            return None
        return Refusal(limit, self.retry_after(limit, *keys))

    def test(self, limit: str, *keys: str) -> Refusal | None:
        """Like hit, without counting."""
        item = parse_limit(limit)
        if self.limiter.test(item, *keys):
            return None
        return Refusal(limit, self.retry_after(limit, *keys))

    def retry_after(self, limit: str, *keys: str) -> int:
        stats = self.limiter.get_window_stats(parse_limit(limit), *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def clear(self, limit: str, *keys: str) -> None:
        """Forget what was counted for `keys` (after a successful sign-in, say)."""
        self.limiter.clear(parse_limit(limit), *keys)


def init_app(app: Flask, redis: Redis) -> None:
    """Count in the app's Redis, sharing its client's connection pool (and timeouts)."""
    storage = RedisStorage("redis://", connection_pool=redis.connection_pool, key_prefix=PREFIX)
    app.extensions[_KEY] = RateLimits(storage)


def get_limits() -> RateLimits:
    """The current app's rate limits."""
    return current_app.extensions[_KEY]
