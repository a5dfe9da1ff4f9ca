"""Capped counts, and a short memory of the ones that reached the cap.

A count stops at the cap (`SELECT count(*) FROM (SELECT 1 ... LIMIT cap + 1)`), so it reads
at most cap + 1 rows; for most filters an index answers that in a few milliseconds, but a
word search that matches more than the cap fetches cap + 1 rows from the table (tens of
milliseconds at a million rows). A filter over the cap stays over it for a while (jobs are
added far more often than removed), so that answer, "10,000+", is remembered in Redis for
CAPPED_TTL seconds, per viewer's scope and filter; a count under the cap is always counted
afresh, so it is exact. The memory is only a shortcut: with Redis down, counts are counted,
and a first page that shows every match (no next page) recounts, so a remembered "10,000+"
never sits above a short list after a bulk delete.
"""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlencode

from redis.exceptions import RedisError
from sqlalchemy import ColumnElement, func, literal, select

from webapp.explorer.filters import JobFilter
from webapp.extensions import db
from webapp.jobs.connection import get_redis
from webapp.models import BackgroundJob, User

log = logging.getLogger(__name__)

CAPPED_TTL = 60  # seconds a count that reached the cap is remembered
_PREFIX = "cutroom:explorer:capped:"


def capped_count(conditions: list[ColumnElement[bool]], cap: int) -> tuple[int, bool]:
    """(how many jobs match, True if more than `cap` do: then the count is `cap`)."""
    inner = (select(literal(1)).select_from(BackgroundJob).where(*conditions)
             .limit(cap + 1).subquery())
    found = db.session.scalar(select(func.count()).select_from(inner)) or 0
    return (cap, True) if found > cap else (found, False)


def key(viewer: User, job_filter: JobFilter, cap: int) -> str:
    """The Redis key of this viewer's scope (every job for an admin) and filter."""
    scope = "all" if viewer.is_admin else f"user:{viewer.id}"
    query = urlencode(sorted(job_filter.to_args().items()), doseq=True)
    digest = hashlib.sha256(f"{scope}|{cap}|{query}".encode()).hexdigest()[:32]
    return _PREFIX + digest


def was_capped(name: str) -> bool:
    """Whether this count reached the cap within the last CAPPED_TTL seconds."""
    try:
        return bool(get_redis().exists(name))
    except RedisError as exc:
        log.debug("explorer count memory unavailable: %s", exc)
        return False


def remember(name: str) -> None:
    """Remember that this count reached the cap."""
    try:
        get_redis().set(name, 1, ex=CAPPED_TTL)
    except RedisError as exc:
        log.debug("explorer count memory unavailable: %s", exc)


def forget(name: str) -> None:
    """A remembered count that turned out under the cap."""
    try:
        get_redis().delete(name)
    except RedisError as exc:
        log.debug("explorer count memory unavailable: %s", exc)
