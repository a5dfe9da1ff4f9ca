"""Paused queues in the worker: it takes no job from a paused queue, and loses none.

An operator pauses one queue (webapp/jobs/pauses.py keeps the paused names in a Redis set):

- each try of RQ's blocking dequeue reads the set first and listens only on the queues not
  in it, and blocks at most POLL seconds: an idle worker notices a pause or a resume within
  POLL seconds (with every queue paused it sleeps POLL seconds a try, heartbeats between);
- a worker with jobs coming back to back pops without waiting: each such pop is a script
  that checks the queue's pause and pops in one round trip, so nothing is read before or
  after it;
- after a blocking pop it reads the set again (and the next dequeue's first try takes that
  reading when it is under POLL seconds old: one read of the set per job, where two would
  be the same but for a pause or resume less than POLL seconds old, which the read after
  the pop, or the next try, catches). A job popped from a queue paused in between
  (the pop was already waiting when the pause came) goes back to its place in its queue, in
  one script, and the worker dequeues again; so a job submitted after a pause never starts.
  Its place: before the first of the front jobs enqueued after it. Several workers may
  each have popped one and put them back in any order; the queue keeps its order;
- a stop (SIGTERM) that arrives while the worker holds such a job is noted instead of
  raised, so the job is back in its queue before the worker stops;
- a job already running when the pause comes runs to its end;
- at startup the worker writes the set again from PostgreSQL (Redis may have lost it).
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# - Worker.dequeue_job_and_maintain_ttl calls queue_class.dequeue_any(worker's queues,
#   timeout, connection=..., ...) (a classmethod) on each try of its loop, looping on
#   DequeueTimeout (rq.exceptions) with a heartbeat before each try;
# - with one queue, dequeue_any pops by BLMOVE into queue.intermediate_queue_key (removed
#   when the horse starts); with several, by BLPOP, the id then being in no list; neither
#   changes the job's status; a job is at the front of its list (queue.key) on the left;
# - with timeout None, dequeue_any pops through the classmethods lmove(connection,
#   queue_key, None) (one queue, LMOVE LEFT RIGHT) or lpop(queue_keys, None, connection)
#   (LPOP of each in turn), which return (queue_key, job_id) or None; a queue's key is
#   Queue.redis_queue_namespace_prefix + its name;
# - Worker._shutdown raises StopRequested when no job runs; Worker.bootstrap(...).

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from redis.exceptions import RedisError
from rq.exceptions import DequeueTimeout
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.queue import Queue
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db
from webapp.jobs import pauses
from webapp.jobs.redis_outage import UNREACHABLE
from webapp.jobs.worker.outages import OutageSafeQueue, OutageSafeWorker, RedisOutage

POLL = 1  # seconds: longest blocking dequeue, so the paused set is read at least this often
SCAN = 64  # front jobs compared when putting one back (at most one per worker was popped)
# The paused set a worker read after its last pop, for its dequeue's first try (set only
# around the worker's own dequeue call: RQ calls dequeue_any, a classmethod, from there).
_RECENT: ContextVar[set[str] | None] = ContextVar("cutroom_recent_paused", default=None)

# KEYS: the queue's list, its intermediate list. ARGV: the job's id, RQ's job key prefix,
# SCAN. Removes the job from both lists, then inserts it before the first of the queue's
# first SCAN jobs enqueued after it (RQ's enqueued_at sorts as text), else after them.
_PUT_BACK = """
redis.call('LREM', KEYS[2], 1, ARGV[1])
redis.call('LREM', KEYS[1], 0, ARGV[1])
local mine = redis.call('HGET', ARGV[2] .. ARGV[1], 'enqueued_at')
if not mine then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  return 0
end
local front = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
for i, other in ipairs(front) do
  local theirs = redis.call('HGET', ARGV[2] .. other, 'enqueued_at')
  if theirs and theirs > mine then
    redis.call('LINSERT', KEYS[1], 'BEFORE', other, ARGV[1])
    return i - 1
  end
end
if #front == 0 then
  redis.call('LPUSH', KEYS[1], ARGV[1])
else
  redis.call('LINSERT', KEYS[1], 'AFTER', front[#front], ARGV[1])
end
return #front
"""


# KEYS: the paused set, a queue's list, and (one queue: RQ's LMOVE) its intermediate list.
# ARGV: the queue's name. RQ's non-blocking pop, unless the queue is paused: one round trip
# that no pause can come between.
_POP_OPEN = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return false
end
if KEYS[3] then
  return redis.call('LMOVE', KEYS[2], KEYS[3], 'LEFT', 'RIGHT')
end
return redis.call('LPOP', KEYS[2])
"""
# Set by a non-blocking pop, which checked the pause in the same script (read by the worker
# around its own dequeue call, as _RECENT).
_POPPED_OPEN: ContextVar[bool] = ContextVar("cutroom_popped_open", default=False)


class PauseAwareQueue(OutageSafeQueue):
    """RQ's queue; its dequeue skips paused queues and blocks at most POLL seconds."""

    @classmethod
    def dequeue_any(cls, queues: Any, timeout: int | None, connection: Any, **kwargs: Any):
        if timeout is None:  # one try, no wait: each pop checks its queue's pause itself
            return super().dequeue_any(queues, None, connection=connection, **kwargs)
        paused = _RECENT.get()
        _RECENT.set(None)  # later tries of the same dequeue read the set again
        if paused is None:
            try:
                paused = pauses.paused_in_redis(connection)
            except UNREACHABLE as exc:
                raise RedisOutage(str(exc)) from exc
        listening = [queue for queue in queues if queue.name not in paused]
        if timeout is not None:
            timeout = min(timeout, POLL)
        if listening:
            return super().dequeue_any(listening, timeout, connection=connection, **kwargs)
        if timeout is None:  # burst: nothing to take
            return None
        time.sleep(timeout)
        raise DequeueTimeout(timeout, [queue.key for queue in queues])

    @classmethod
    def lmove(cls, connection: Any, queue_key: str, timeout: int | None):
        if timeout is not None:
            return super().lmove(connection, queue_key, timeout)
        job_id = _pop_open(connection, queue_key,
                           IntermediateQueue.get_intermediate_queue_key(queue_key))
        return None if job_id is None else (queue_key, job_id)

    @classmethod
    def lpop(cls, queue_keys: Any, timeout: int | None, connection: Any = None):
        if timeout is not None:
            return super().lpop(queue_keys, timeout, connection=connection)
        for queue_key in queue_keys:
            job_id = _pop_open(connection, queue_key)
            if job_id is not None:
                return queue_key, job_id
        return None


def _pop_open(connection: Any, queue_key: str, intermediate_key: str | None = None):
    """Pop the front job id of a queue that is not paused (None: paused, or empty)."""
    name = queue_key[len(Queue.redis_queue_namespace_prefix):]
    keys = [pauses.PAUSED_KEY, queue_key] + ([intermediate_key] if intermediate_key else [])
    job_id = connection.register_script(_POP_OPEN)(keys=keys, args=[name])
    if job_id is not None:
        _POPPED_OPEN.set(True)
    return job_id


class PauseAwareWorker(OutageSafeWorker):
    """A worker that honours queue pauses (it waits Redis outages out too)."""

    queue_class = PauseAwareQueue
    _holding = False  # deciding about a popped job: a stop now is noted, not raised
    _seen: tuple[set[str], float] | None = None  # the paused set read after the last pop

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        self._mirror_pauses()

    def _mirror_pauses(self) -> None:
        """Write the paused set again from PostgreSQL (the record), before any job."""
        try:
            pauses.mirror(self.connection)
            db.session.commit()
        except (RedisError, SQLAlchemyError) as exc:
            db.session.rollback()
            self.log.warning("Could not read the paused queues from PostgreSQL into Redis "
                             "(%s); using what Redis has", exc)
            return
        paused = sorted(pauses.paused_in_redis(self.connection) & set(self.queue_names()))
        if paused:
            self.log.info("Paused by an operator, not taken from until resumed: %s",
                          ", ".join(paused))

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None):
        """RQ's dequeue; a job popped from a queue paused meanwhile goes back, and the
        worker dequeues again."""
        while True:
            token, popped_open = _RECENT.set(self._recent_paused()), _POPPED_OPEN.set(False)
            try:
                result = super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)
                checked = _POPPED_OPEN.get()
            finally:
                _RECENT.reset(token)
                _POPPED_OPEN.reset(popped_open)
            if result is None or self._keep(*result, checked):
                return result
            if self._stop_requested:
                return None

    def _recent_paused(self) -> set[str] | None:
        """The paused set read after the last pop if under POLL seconds old (once)."""
        seen, self._seen = self._seen, None
        if seen is None or time.monotonic() - seen[1] >= POLL:
            return None
        return seen[0]

    def _keep(self, job: Job, queue: Queue, checked: bool = False) -> bool:
        """Whether to run a popped job (`checked`: its pop found the queue open); if not,
        it is back in its place in its queue."""
        self._holding = True
        try:
            if not self._stop_requested and (checked or not self._is_paused(queue, job)):
                return True
            self._return_to_queue(job, queue)
            return False
        finally:
            self._holding = False

    def _is_paused(self, queue: Queue, job: Job) -> bool:
        try:
            paused = pauses.paused_in_redis(self.connection)
        except UNREACHABLE as exc:
            # The pop itself found the queue open a moment ago: run the job.
            self.log.warning("Could not check whether queue %s was paused after popping job "
                             "%s (%s); running it", queue.name, job.id, exc)
            return False
        self._seen = (paused, time.monotonic())
        return queue.name in paused

    def _return_to_queue(self, job: Job, queue: Queue) -> None:
        """Put a popped job back in its place at the front of its queue, once (a retry
        after a lost reply must not queue it twice), waiting out any Redis outage: it is in
        no list until then."""
        script = self.connection.register_script(_PUT_BACK)

        def put_back() -> int:
            return script(keys=[queue.key, queue.intermediate_queue_key],
                          args=[job.id, Job.redis_job_namespace_prefix, SCAN])

        position = self.outage.call(put_back)
        why = "the worker is stopping" if self._stop_requested else "its queue is paused"
        self.log.info("Job %s is back in queue %s at position %s: %s", job.id, queue.name,
                      position, why)

    def _shutdown(self) -> None:
        """While a popped job is being put back or handed on, note the stop (the job must
        not be dropped by RQ's StopRequested); the worker stops right after."""
        if self._holding:
            self._stop_requested = True
            return
        super()._shutdown()
