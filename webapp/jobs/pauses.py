"""Paused queues: PostgreSQL keeps the record (queue_pauses), Redis a set workers read.

RQ's own suspend (`rq suspend`) stops every worker on every queue; this pauses one queue.
Pausing writes the row and adds the queue's name to the Redis set PAUSED_KEY, resuming
deletes both, each under one advisory lock that the caller's commit releases, so the set
never trails a pause or resume that another process then overwrites. Workers read the set
before every dequeue and once more after popping a job (webapp/jobs/worker/pauses.py).

The set is only a mirror: a worker starting, and every reconciler pass, write it again from
PostgreSQL (`mirror`), so a Redis that lost it (a restart without persistence, a failover
to a replica that had not caught up) gets it back, and a pause whose commit failed after
its Redis write is undone.
"""

from __future__ import annotations

import getpass
import socket
from datetime import UTC, datetime

from flask import g
from redis import Redis
from rq.utils import as_text
from sqlalchemy import func, select

from webapp import audit
from webapp.extensions import db
from webapp.jobs.registry import queue_names
from webapp.models import QueuePause, User

PAUSED_KEY = "cutroom:queues:paused"
LOCK_NAMESPACE = 8702  # pg_advisory_xact_lock(namespace, 0); quotas use 8701


class UnknownQueue(Exception):
    """No task uses a queue of that name, and none of that name is paused (HTTP 404)."""

    def __init__(self, name: str, known: list[str]):
        super().__init__(f"No queue called {name!r}; the queues are: {', '.join(known)}.")
        self.name = name


def pauses() -> dict[str, QueuePause]:
    """The paused queues' rows, by queue name."""
    return {row.queue: row for row in db.session.scalars(select(QueuePause))}


def known_queues(paused: dict[str, QueuePause] | None = None) -> list[str]:
    """The task queues, then any queue still paused whose tasks are gone (to resume it)."""
    names = queue_names()
    paused = pauses() if paused is None else paused
    return names + sorted(set(paused) - set(names))


def pause(name: str, actor: User | None, redis: Redis) -> tuple[QueuePause, bool]:
    """Pause a queue (`actor` None: the command line); returns (its row, whether it was
    running until now). Audited; flushes, the caller commits. RedisError: nothing changed."""
    _lock()
    paused = pauses()
    if name not in known_queues(paused):
        raise UnknownQueue(name, known_queues(paused))
    row = paused.get(name)
    if row is None:
        row = QueuePause(queue=name, paused_at=datetime.now(UTC), paused_by=_label(actor),
                         paused_by_id=actor.id if actor else None)
        db.session.add(row)
        _audit(actor, "queue.pause", name)
        db.session.flush()
    # Again when it was paused already: heals a mirror that lost it.
    redis.sadd(PAUSED_KEY, name)
    return row, name not in paused


def resume(name: str, actor: User | None, redis: Redis) -> QueuePause | None:
    """Resume a queue; returns the pause it ended (None: it was not paused). Audited;
    flushes, the caller commits. RedisError: nothing changed."""
    _lock()
    paused = pauses()
    if name not in known_queues(paused):
        raise UnknownQueue(name, known_queues(paused))
    row = paused.get(name)
    if row is not None:
        _audit(actor, "queue.resume", name, paused_at=row.paused_at.isoformat(),
               paused_by=row.paused_by)
        db.session.delete(row)
        db.session.flush()
    redis.srem(PAUSED_KEY, name)
    return row


def mirror(redis: Redis) -> tuple[set[str], set[str]]:
    """Make the Redis set say what PostgreSQL says; returns the names (added, removed).
    The lock is held until the caller's transaction ends."""
    _lock()
    wanted = set(pauses())
    current = paused_in_redis(redis)
    if wanted != current:
        with redis.pipeline() as pipe:  # MULTI: a worker never reads it half-written
            pipe.delete(PAUSED_KEY)
            if wanted:
                pipe.sadd(PAUSED_KEY, *sorted(wanted))
            pipe.execute()
    return wanted - current, current - wanted


def paused_in_redis(redis: Redis) -> set[str]:
    """The paused queues' names as workers see them."""
    return {as_text(name) for name in redis.smembers(PAUSED_KEY)}


def is_paused(name: str) -> bool:
    """For pages: whether the queue is paused (PostgreSQL, read once per request)."""
    if "cutroom_paused_queues" not in g:
        g.cutroom_paused_queues = set(db.session.scalars(select(QueuePause.queue)))
    return name in g.cutroom_paused_queues


def _lock() -> None:
    db.session.execute(select(func.pg_advisory_xact_lock(LOCK_NAMESPACE, 0)))


def _label(actor: User | None) -> str:
    return actor.email if actor is not None else command_line_label()


def command_line_label() -> str:
    """Who runs this command: "command line (user@host)"."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        user = "unknown"
    return f"command line ({user}@{socket.gethostname()})"


def _audit(actor: User | None, action: str, name: str, **detail) -> None:
    """Pausing is for admins only and affects everyone: always audited, from the command
    line too."""
    if actor is None:
        audit.command_line_action(command_line_label(), action, "queue", name, **detail)
    else:
        audit.admin_action(actor, action, "queue", name, None, always=True, **detail)
