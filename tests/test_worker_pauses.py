"""CutroomWorker's dequeue with paused queues, in this process, where a pause landing between
the worker's look at the paused set and its pop can be staged exactly: the popped job goes
back to the front of its queue (one queue: RQ's BLMOVE; several: BLPOP), a stop while the
worker holds it waits until it is back, and with every queue paused the worker waits and
heartbeats. Real worker processes: test_queue_pauses_e2e.py."""

from __future__ import annotations

import time
import uuid

import pytest
from redis import Redis
from rq import Queue
from rq.exceptions import StopRequested
from rq.job import Job
from rq.utils import as_text

from webapp.jobs import pauses, redis_outage
from webapp.jobs.connection import worker_redis
from webapp.jobs.worker import CutroomWorker, vitals

PAUSED = pauses.PAUSED_KEY


@pytest.fixture
def make_worker(app, redis, monkeypatch):
    """CutroomWorkers on this test's Redis (not registered, not working: just dequeuing)."""
    monkeypatch.setattr(redis_outage, "_current", redis_outage._current)  # a worker tracks
    clients = []

    def make(*queues: str) -> CutroomWorker:
        clients.append(worker_redis(app.config, 20))
        return CutroomWorker(list(queues), name=f"inproc-{uuid.uuid4().hex[:6]}",
                             connection=clients[-1])

    yield make
    for client in clients:
        client.close()


def _stale_once(monkeypatch) -> None:
    """The worker's next look at the paused set sees none: it started waiting on the queue
    just before the pause came."""
    real, looks = pauses.paused_in_redis, []

    def look(redis: Redis) -> set[str]:
        looks.append(redis)
        return set() if len(looks) == 1 else real(redis)

    monkeypatch.setattr(pauses, "paused_in_redis", look)


def _ids(redis: Redis, key: str) -> list[str]:
    return [as_text(item) for item in redis.lrange(key, 0, -1)]


def test_a_job_popped_as_its_queue_is_paused_goes_back_to_the_front(make_worker, redis,
                                                                     monkeypatch):
    """One queue: RQ pops by BLMOVE into the queue's intermediate list."""
    queue = Queue("default", connection=redis)
    first = queue.enqueue_call(print, job_id="first")
    queue.enqueue_call(print, job_id="second")
    redis.sadd(PAUSED, "default")
    _stale_once(monkeypatch)
    worker = make_worker("default")
    assert worker.dequeue_job_and_maintain_ttl(10, max_idle_time=2) is None
    assert _ids(redis, queue.key) == ["first", "second"]
    assert redis.llen(queue.intermediate_queue_key) == 0
    assert Job.fetch("first", connection=redis).get_status() == "queued" == first.get_status()


def test_jobs_two_workers_popped_go_back_in_their_order(make_worker, redis):
    """Two workers each popped a job as the pause came (RQ's BLPOP: in no list), and the
    first puts its job back before the second: the queue keeps its order."""
    queue = Queue("default", connection=redis)
    jobs = [queue.enqueue_call(print, job_id=name) for name in ("first", "second", "third")]
    redis.lpop(queue.key, 2)  # both pops
    one, other = make_worker("default"), make_worker("default")
    one._return_to_queue(jobs[0], queue)
    other._return_to_queue(jobs[1], queue)
    assert _ids(redis, queue.key) == ["first", "second", "third"]
    other._return_to_queue(jobs[1], queue)  # a retry after a lost reply: still once
    assert _ids(redis, queue.key) == ["first", "second", "third"]


def test_a_popped_job_goes_back_behind_earlier_ones(make_worker, redis):
    """Put back after a job enqueued before it (at the front, or put back already by a
    worker that popped it later): behind it, ahead of the rest."""
    queue = Queue("default", connection=redis)
    jobs = [queue.enqueue_call(print, job_id=name) for name in ("first", "second", "third")]
    redis.lrem(queue.key, 1, "second")
    make_worker("default")._return_to_queue(jobs[1], queue)
    assert _ids(redis, queue.key) == ["first", "second", "third"]
    redis.lrem(queue.key, 1, "third")
    make_worker("default")._return_to_queue(jobs[2], queue)
    assert _ids(redis, queue.key) == ["first", "second", "third"]


def test_with_several_queues_the_worker_takes_the_next_open_one(make_worker, redis,
                                                                monkeypatch):
    """Several queues: RQ pops by BLPOP, and the job is in no list until it is put back."""
    default, video = Queue("default", connection=redis), Queue("video", connection=redis)
    default.enqueue_call(print, job_id="first")
    video.enqueue_call(print, job_id="stage")
    redis.sadd(PAUSED, "default")
    _stale_once(monkeypatch)
    job, queue = make_worker("default", "video").dequeue_job_and_maintain_ttl(10)
    assert (job.id, queue.name) == ("stage", "video")
    assert _ids(redis, default.key) == ["first"]


def test_a_stop_while_the_worker_holds_a_popped_job_puts_it_back_first(make_worker, redis):
    queue = Queue("default", connection=redis)
    queue.enqueue_call(print, job_id="first")
    worker = make_worker("default")
    with pytest.raises(StopRequested):  # idle, holding nothing: RQ's immediate stop
        worker._shutdown()
    worker._holding = True
    worker._shutdown()  # a SIGTERM while a popped job is being decided on
    worker._holding = False
    assert worker._stop_requested
    assert worker.dequeue_job_and_maintain_ttl(10) is None
    assert _ids(redis, queue.key) == ["first"]


def test_with_every_queue_paused_the_worker_waits_and_heartbeats(make_worker, redis):
    queue = Queue("default", connection=redis)
    queue.enqueue_call(print, job_id="first")
    redis.sadd(PAUSED, "default")
    worker = make_worker("default")
    started = time.monotonic()
    assert worker.dequeue_job_and_maintain_ttl(10, max_idle_time=2) is None
    assert 1.5 < time.monotonic() - started < 4
    assert _ids(redis, queue.key) == ["first"]
    fields = redis.hgetall(worker.key)
    assert int(fields[vitals.RSS.encode()]) > 10 * 2**20  # a Python process with the app
    assert int(fields[vitals.HORSE_RSS.encode()]) == 0
    assert b"last_heartbeat" in fields


def _counted_looks(monkeypatch) -> list[float]:
    """The times the worker reads the paused set (each read is real)."""
    real, looks = pauses.paused_in_redis, []

    def look(redis: Redis) -> set[str]:
        looks.append(time.monotonic())
        return real(redis)

    monkeypatch.setattr(pauses, "paused_in_redis", look)
    return looks


def test_back_to_back_jobs_read_the_paused_set_once_each(make_worker, redis, monkeypatch):
    """The read after a pop serves the next dequeue's first try: one Redis round trip a
    job instead of two."""
    queue = Queue("default", connection=redis)
    for n in range(5):
        queue.enqueue_call(print, job_id=f"job{n}")
    looks = _counted_looks(monkeypatch)
    worker = make_worker("default")
    popped = [worker.dequeue_job_and_maintain_ttl(10)[0].id for _ in range(5)]
    assert popped == [f"job{n}" for n in range(5)]
    assert len(looks) == 1 + 5  # the first dequeue's own read, then one after each pop


def test_a_pause_after_the_reused_read_still_keeps_the_next_job(make_worker, redis,
                                                                monkeypatch):
    """The queue is paused after the worker's last read: its next pop, which trusted that
    read, is checked again and goes back; an old read is not trusted at all."""
    queue = Queue("default", connection=redis)
    for name in ("first", "second"):
        queue.enqueue_call(print, job_id=name)
    worker = make_worker("default")
    assert worker.dequeue_job_and_maintain_ttl(10)[0].id == "first"
    redis.sadd(PAUSED, "default")
    assert worker.dequeue_job_and_maintain_ttl(10, max_idle_time=2) is None
    assert _ids(redis, queue.key) == ["second"]
    redis.srem(PAUSED, "default")
    looks = _counted_looks(monkeypatch)
    worker._seen = ({"default"}, time.monotonic() - 2)  # a read older than POLL seconds
    assert worker.dequeue_job_and_maintain_ttl(10)[0].id == "second"
    assert len(looks) == 2  # the old read was not used: a fresh one, then the check


@pytest.mark.parametrize("queues", [("default",), ("default", "other")])
def test_a_pop_without_waiting_checks_the_pause_in_the_same_script(make_worker, redis,
                                                                   monkeypatch, queues):
    """A worker with jobs owed pops without waiting (RQ's LMOVE, or LPOP of each queue):
    a paused queue is skipped by the pop itself, even when the worker's last read of the
    set, still trusted, said it was open; and an open queue's pop needs no read at all."""
    other = Queue("other", connection=redis)
    other.enqueue_call(print, job_id="elsewhere")
    queue = Queue("default", connection=redis)
    queue.enqueue_call(print, job_id="held")
    looks = _counted_looks(monkeypatch)
    worker = make_worker(*queues)
    redis.sadd(PAUSED, "default")
    worker._seen = (set(), time.monotonic())  # a fresh read from before the pause
    result = worker.dequeue_job_and_maintain_ttl(None)
    if len(queues) == 1:
        assert result is None
    else:
        assert result[0].id == "elsewhere"
    assert _ids(redis, queue.key) == ["held"]
    assert _ids(redis, queue.intermediate_queue_key) == []
    redis.srem(PAUSED, "default")
    assert worker.dequeue_job_and_maintain_ttl(None)[0].id == "held"
    assert looks == []  # neither pop read the set: each checked it in its script
    if len(queues) == 1:  # RQ's LMOVE: the job waits in the intermediate list for its horse
        assert _ids(redis, queue.intermediate_queue_key) == ["held"]
