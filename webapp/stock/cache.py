"""Searches remembered in Redis, keyed by provider, kind, orientation, limit and the
normalized query, for STOCK_CACHE_TTL seconds: the same scene terms ask the API once.

The cache is an optimisation only: with Redis unreachable (or no client given) every search
asks the API, and a broken entry is treated as missing.
"""

from __future__ import annotations

import hashlib
import json
import logging

from redis import Redis
from redis.exceptions import RedisError

from webapp.stock.items import StockItem

PREFIX = "cutroom:stock:v1:"
log = logging.getLogger(__name__)


def normalize(query: str) -> str:
    """The query as it is searched and cached: lower case, single spaces."""
    return " ".join(query.lower().split())


def cache_key(provider: str, kind: str, orientation: str, limit: int, query: str) -> str:
    """The Redis key of one search (the query hashed: any length, any characters)."""
    digest = hashlib.sha256(normalize(query).encode()).hexdigest()[:32]
    return f"{PREFIX}{provider}:{kind}:{orientation}:{limit}:{digest}"


def load(redis: Redis | None, key: str) -> list[StockItem] | None:
    """The remembered items (possibly none found), or None when not remembered."""
    if redis is None:
        return None
    try:
        raw = redis.get(key)
    except RedisError as exc:
        log.warning("Stock search cache unavailable, asking the API: %s", exc)
        return None
    if raw is None:
        return None
    try:
        return [StockItem.from_dict(entry) for entry in json.loads(raw)]
    except (ValueError, TypeError):
        return None


def store(redis: Redis | None, key: str, items: list[StockItem], ttl: int) -> None:
    """Remember the items for ttl seconds (0: not at all); a Redis error is only logged."""
    if redis is None or ttl <= 0:
        return
    try:
        redis.set(key, json.dumps([item.to_dict() for item in items]), ex=ttl)
    except RedisError as exc:
        log.warning("Stock search not cached: %s", exc)
