"""Outcomes a forked work-horse hands to its worker process instead of writing them itself.

A work-horse that opened no PostgreSQL connection (a no-op or Redis-only task) would
otherwise open one just for its outcome: a new connection per job, most of a short job's
cost. Instead, once `begin()` has run in the horse, `outcomes.record` and `progress()`
append the outcome to the worker's own list in Redis (`key_for(worker)`) and the worker
process applies it through its pool, in batches, soon after the horse has exited (progress
once a second while it runs; webapp/jobs/worker/drain.py). Every worker puts each job's
`started` there first (`push_started`). A horse that did open a connection (a render
reads its project) writes directly, its `started` first (`settle_start`): that connection
costs nothing more.

Nothing is lost at any moment: the outcome is in Redis before the horse exits; the worker
removes it from its list only after applying it (an outcome applied twice changes nothing:
each is a conditional transition); a worker killed with outcomes in its list leaves them
to its next start under the same name or to the reconciler, which moves the list of a
worker that is gone onto the pending-outcomes queue (`adopt_orphans`). If Redis refuses
the push, the horse writes to PostgreSQL itself.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import RedisError, WatchError
from sqlalchemy import event
from sqlalchemy.pool import Pool

log = logging.getLogger(__name__)

PREFIX = "cutroom:handoff:"
PROGRESS = "progress"  # not an outcome: applied by the worker, dropped once it is gone

# Set in a work-horse by begin(): (the worker's Redis client, its list).
_target: tuple[Redis, str] | None = None
_connected = False  # this work-horse has opened a PostgreSQL connection
_always = False  # hand over even with a connection (the light worker: batched writes)
# The light worker's latest progress of its job, not sent yet: (item, along). Its worker
# applies nothing while the job runs, so progress goes with the job's outcome, in the same
# round trip (or alone as the job ends, if no outcome was handed over).
_held_progress: tuple[str, Callable[[Any], None] | None] | None = None
# A forking worker's horse whose `started` waits in the worker's list: how to record it
# here, before the job's first own write or read of its row (settle_start).
_start: Callable[[], None] | None = None


def key_for(worker_name: str) -> str:
    return f"{PREFIX}{worker_name}"


def begin(redis: Redis, worker_name: str, always: bool = False,
          start: Callable[[], None] | None = None) -> None:
    """In a fresh work-horse (its inherited pool disposed): hand outcomes to the worker;
    `always`: even once there is a connection (a job of the light worker, whose progress
    then goes with its outcome); `start`: records the job's `started`, which its worker
    handed over and records later, if the job writes or reads its row first."""
    global _target, _connected, _always, _held_progress, _start
    _target, _connected, _always = (redis, key_for(worker_name)), False, always
    _held_progress, _start = None, start


def settle_start() -> None:
    """Before a work-horse writes its job's row itself, or reads it: record the `started`
    its worker handed over (once; the worker's own record of it then changes nothing). It
    stays in the worker's list, so a failure here loses nothing."""
    global _start
    if _start is not None:
        start, _start = _start, None
        start()


def end() -> bool:
    """Stop handing over (sending progress still held); returns whether this horse opened
    a PostgreSQL connection."""
    global _target, _held_progress, _start
    _start = None
    if _held_progress is not None and _target is not None:
        held, _held_progress = _held_progress, None
        try:
            _send(*_target, [held])
        except RedisError as exc:  # only progress: the job's outcome is recorded anyway
            log.warning("Could not hand over the last progress of a job (%s)", exc)
    _target = None
    return _connected


def watch_connections() -> None:
    """In the worker process, before any fork: note each new PostgreSQL connection (once;
    listening is slow enough to matter in every horse)."""
    if not event.contains(Pool, "connect", _on_connect):
        event.listen(Pool, "connect", _on_connect)


def _on_connect(*_args: Any) -> None:
    global _connected
    _connected = True


def active() -> bool:
    """Whether outcomes go to the worker (a work-horse that has no connection of its own)."""
    return _target is not None and (_always or not _connected)


def push(name: str, job_id: str, args: list[Any],
         along: Callable[[Any], None] | None = None) -> bool:
    """Hand an outcome (or PROGRESS) to the worker; False if Redis refused it. `along`
    queues more writes in the same round trip (it is given the pipeline)."""
    global _held_progress
    if _target is None:
        return False
    item = json.dumps({"outcome": name, "job_id": str(job_id), "args": args, "at": time.time()})
    if name == PROGRESS and _always:
        _held_progress = (item, along)  # the newest replaces the one before
        return True
    items = [(item, along)]
    if _held_progress is not None:
        items.insert(0, _held_progress)
    try:
        _send(*_target, items)
    except RedisError as exc:
        log.warning("Could not hand %s of job %s to the worker (%s); writing it here",
                    name, job_id, exc)
        return False
    _held_progress = None
    return True


def _send(redis: Redis, key: str,
          items: list[tuple[str, Callable[[Any], None] | None]]) -> None:
    """Append the items to the worker's list, with what each `along` queues, in one round
    trip."""
    with redis.pipeline(transaction=False) as pipe:
        for item, along in items:
            if along is not None:
                along(pipe)
            pipe.rpush(key, item)
        pipe.execute()


# KEYS: the RQ job's hash, the worker's list. ARGV: the `started` item, the worker's name.
# The job's status as it was, read in the same step as the hand-over (no cancel can come
# between); the hash names the worker from now on (RQ's horse names it only once it has
# begun), so that a cancel can stop the job wherever it is (webapp.jobs.service.cancel).
_HAND_STARTED = """
local status = redis.call('HGET', KEYS[1], 'status')
if status then
  redis.call('HSET', KEYS[1], 'worker_name', ARGV[2])
end
redis.call('RPUSH', KEYS[2], ARGV[1])
return status
"""


def push_started(redis: Redis, worker_name: str, job_id: str, job_key: str,
                 at: float) -> bytes | None:
    """In a worker that records `started` later (batched, drain.py): put it in the worker's
    list, args (worker name, `at`), and return the status field of the RQ job's hash
    (`job_key`) as it was just before, in the same step (None: no such job)."""
    item = json.dumps({"outcome": "started", "job_id": str(job_id), "args": [worker_name, at],
                       "at": at})
    return redis.register_script(_HAND_STARTED)(keys=[job_key, key_for(worker_name)],
                                               args=[item, worker_name])


def read(redis: Redis, key: str) -> tuple[int, list[dict[str, Any]]]:
    """(how many items the list holds, the decodable ones, oldest first): trim the count
    once they are applied (`forget`)."""
    raw = redis.lrange(key, 0, -1)
    events = []
    for item in raw:
        try:
            decoded = json.loads(item)
        except ValueError:
            decoded = None
        if isinstance(decoded, dict) and "outcome" in decoded and "job_id" in decoded:
            events.append(decoded)
        else:
            log.error("Dropping a handed-off outcome that is not one: %r", item[:200])
    return len(raw), events


def forget(redis: Redis, key: str, count: int) -> None:
    """Remove the `count` oldest items (applied); the horse may have appended more since."""
    redis.ltrim(key, count, -1)


def latest(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events worth applying, in order: of a job's progress, only the newest (its stage
    stays on the row once the job has ended, so an outcome does not replace it)."""
    seen: set[str] = set()
    kept = []
    for item in reversed(events):
        if item["outcome"] != PROGRESS:
            kept.append(item)
        elif item["job_id"] not in seen:
            kept.append(item)
            seen.add(item["job_id"])
    return kept[::-1]


def adopt_orphans(redis: Redis, alive) -> int:
    """Move the lists of workers that are gone (`alive(name)` False) onto the pending
    outcomes queue, outcomes in order, progress dropped; returns how many moved."""
    from webapp.jobs import pending_outcomes

    moved = 0
    for key in redis.scan_iter(match=f"{PREFIX}*", count=100):
        if not alive(key.decode()[len(PREFIX):]):
            moved += _adopt(redis, key, pending_outcomes.KEY)
    return moved


def _adopt(redis: Redis, key: bytes, pending_key: str) -> int:
    """Move one list, unless something was appended to it meanwhile (then its worker is
    alive after all, and the next pass looks again)."""
    with redis.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(key)
            _count, events = read(pipe, key)
            outcomes = [json.dumps(item) for item in events if item["outcome"] != PROGRESS]
            pipe.multi()
            if outcomes:
                pipe.rpush(pending_key, *outcomes)
            pipe.delete(key)
            pipe.execute()
        except WatchError:
            return 0
    return len(outcomes)
