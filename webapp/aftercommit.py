"""Redis writes that must follow a PostgreSQL commit, never precede it.

Code that changes rows notes, in the SQLAlchemy session, what Redis must hear of it
(`note(session, kind, items)`: whose jobs changed, which sign-in sessions ended). Once the
transaction commits, every noted item goes out in one pipeline, through the sender
registered for its kind (`@sender(kind)`); a rollback drops them. A reader that sees the
Redis side of a change can therefore always read the change itself from PostgreSQL.

A commit never fails because of Redis: with Redis unreachable the items wait in this
process and go out with its next commit, at most one attempt every RETRY_AFTER seconds, so
an outage costs a commit one short wait (QUICK_TIMEOUT) now and then, not one each.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from flask import has_app_context
from redis.client import Pipeline
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

_INFO_KEY = "cutroom.after_commit"
RETRY_AFTER = 5.0  # seconds between attempts while Redis is unreachable
MAX_WAITING = 50_000  # items kept for a Redis that is away

Sender = Callable[[Pipeline, set], None]
_senders: dict[str, Sender] = {}
# What this process could not send yet, by kind, and when to try again.
_waiting: dict[str, set] = {}
_retry_at = 0.0
_lock = threading.Lock()


def sender(kind: str) -> Callable[[Sender], Sender]:
    """Register the function that queues a kind's items on a Redis pipeline."""
    def register(function: Sender) -> Sender:
        _senders[kind] = function
        return function
    return register


def note(session: Session, kind: str, items: Iterable) -> None:
    """Items of `kind` to send once this session's transaction commits."""
    noted = session.info.setdefault(_INFO_KEY, {})
    noted.setdefault(kind, set()).update(items)


def init_app() -> None:
    """Send what each committed transaction noted (once per process: every app shares it)."""
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


def _after_soft_rollback(session: Session, previous) -> None:
    if previous.parent is None:  # the whole transaction; a savepoint's changes may stay
        session.info.pop(_INFO_KEY, None)


def _after_commit(session: Session) -> None:
    noted = session.info.pop(_INFO_KEY, None)
    if noted and has_app_context():
        send(noted)
    elif noted:
        log.warning("Committed outside an app context: Redis not told of %s", sorted(noted))


def send(noted: dict[str, set]) -> None:
    """Send `noted` and whatever waits from before; keep it all for later if Redis fails."""
    global _retry_at
    with _lock:
        _merge(noted)
        if time.monotonic() < _retry_at:
            return
        batch = {kind: items for kind, items in _waiting.items() if items}
        _waiting.clear()
    # Here, not at the top: webapp.jobs imports its transitions, which note changes here.
    from webapp.jobs.connection import get_quick_redis

    try:
        pipe = get_quick_redis().pipeline(transaction=False)
        for kind, items in batch.items():
            _senders[kind](pipe, items)
        pipe.execute()
    except RedisError as exc:
        with _lock:
            _retry_at = time.monotonic() + RETRY_AFTER
            _merge(batch)
            first, _failing[0] = not _failing[0], True
        # Once per outage (the process's own outage handling says more); debug after that.
        (log.warning if first else log.debug)(
            "Change notices wait for Redis after a commit (%s): %d item(s) to send later",
            exc, sum(map(len, batch.values())))
        return
    with _lock:
        recovered, _failing[0] = _failing[0], False
    if recovered:
        log.info("Change notices that waited for Redis were sent")


_failing = [False]  # the last send failed (so the next failure is not a new outage)


def _merge(noted: dict[str, set]) -> None:
    """Add to what waits (the lock held); past MAX_WAITING items, a kind's are dropped."""
    for kind, items in noted.items():
        _waiting.setdefault(kind, set()).update(items)
    while sum(map(len, _waiting.values())) > MAX_WAITING:
        kind = max(_waiting, key=lambda k: len(_waiting[k]))
        log.warning("dropping %d unsent %s items", len(_waiting.pop(kind)), kind)
