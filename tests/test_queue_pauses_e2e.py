"""Queue pauses with real worker processes: a paused queue keeps its jobs while another
flows, an idle worker stops listening on it within a second (seen through Redis's MONITOR)
and a job submitted after the pause waits for the resume, a running job finishes, and a
restarted worker keeps the pause even when Redis lost it. The dequeue's race with a pause,
staged exactly: test_worker_pauses.py."""

from __future__ import annotations

import re
import threading
import time

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.utils import as_text

from tests.support import (
    WorkerProcess,
    child_env,
    job_row,
    login,
    make_token,
    make_user,
    wait_for,
)
from webapp.extensions import db
from webapp.jobs import pauses, service
from webapp.jobs.registry import get_task
from webapp.models import Project

PAUSED = pauses.PAUSED_KEY


@pytest.fixture
def accounts(live_db):
    admin, user = make_user(admin=True), make_user(max_running_jobs=50)
    return ({"Authorization": f"Bearer {make_token(admin)}"},
            {"Authorization": f"Bearer {make_token(user)}"}, user)


def _act(client, headers, verb: str, queue: str = "default") -> dict:
    response = client.post(f"/api/v1/queues/{queue}/{verb}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _countdown(client, headers, steps: int = 1) -> str:
    response = client.post("/api/v1/tasks/countdown", json={"steps": steps}, headers=headers)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def _status(job_id: str) -> str:
    return job_row(job_id).status


def _ids(redis: Redis, queue: str = "default") -> list[str]:
    """The job ids in RQ's list of the queue, front first."""
    return [as_text(item) for item in redis.lrange(Queue(queue, connection=redis).key, 0, -1)]


def _in_rq_queue(redis: Redis, job_id: str, queue: str = "default") -> bool:
    return job_id in _ids(redis, queue)


class CommandLog:
    """Redis's MONITOR, keeping the blocking dequeues (time, command) workers send on this
    test's database (another test process may share the server, on another database)."""

    def __init__(self, url: str):
        self.client = Redis.from_url(url)
        self.db = int(self.client.connection_pool.connection_kwargs.get("db", 0))
        self.commands: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            for entry in monitor.listen():
                if self._stop.is_set():
                    return
                if entry["db"] == self.db and entry["command"].upper().startswith(
                        ("BLPOP", "BLMOVE")):
                    self.commands.append((entry["time"], entry["command"]))

    def stop(self) -> list[tuple[float, str]]:
        self._stop.set()
        self._thread.join(timeout=5)
        self.client.close()
        return self.commands


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_a_paused_queue_keeps_its_jobs_while_another_flows(worker, app, client, redis,
                                                            accounts, capsys):
    as_admin, as_user, user = accounts
    only_default = WorkerProcess(child_env(), queues=("default",)).wait_ready(redis)
    try:
        assert _act(client, as_admin, "pause")["paused"] is True
        paused_at = time.monotonic()
        held = [_countdown(client, as_user) for _ in range(2)]
        project = Project(user_id=user.id, title="Flows", topic="t", voice="silent", theme={},
                          script=[{"heading": "One", "narration": "First."}])
        db.session.add(project)
        db.session.commit()
        stage, _ = service.submit(get_task("write-script"), {"project_id": project.id}, user)
        wait_for(lambda: _status(stage.id) == "finished", timeout=30,
                 message="the video queue's job to run")
        time.sleep(max(0.0, paused_at + 4 - time.monotonic()))  # both workers had time
        for job_id in held:
            assert _status(job_id) == "queued"
            assert Job.fetch(job_id, connection=redis).get_status() == "queued"
            assert _in_rq_queue(redis, job_id)
        assert _ids(redis) == held  # in order
        login(client, user)
        card = client.get(f"/jobs/{held[0]}/card")
        assert "Queue paused by an operator" in card.get_data(as_text=True)

        assert _act(client, as_admin, "resume")["paused"] is False
        resumed = time.monotonic()
        wait_for(lambda: _status(held[0]) != "queued", timeout=10, interval=0.02,
                 message="the first held job to start")
        latency = time.monotonic() - resumed
        wait_for(lambda: all(_status(j) == "finished" for j in held), timeout=30,
                 message="the held jobs to finish")
        assert latency < 2.0
        with capsys.disabled():
            print(f"\nresume -> first job started: {latency:.2f} s")
    finally:
        only_default.stop()


def _listens(command: str) -> bool:
    return "rq:queue:default" in command


def _latencies(commands, pause: float, resume: float) -> tuple[float, float]:
    """Seconds from the pause to the worker's first dequeue without the queue (after which
    it must not listen on it again until the resume), and from the resume to its first
    dequeue with it."""
    between = [(t, c) for t, c in commands if pause <= t < resume]
    first_without = next(t for t, c in between if not _listens(c))
    assert not any(_listens(c) for t, c in between if t > first_without), between
    back = next(t for t, c in commands if t >= resume and _listens(c))
    return first_without - pause, back - resume


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_an_idle_worker_stops_listening_on_a_paused_queue_within_a_second(
        worker, app, client, redis, accounts, capsys):
    """No job wakes the worker here: it notices the pause at its next look at the set."""
    as_admin, as_user, _ = accounts
    log = CommandLog(app.config["REDIS_URL"])
    time.sleep(2)  # idle, blocked on both queues
    cycles = []
    for _ in range(3):
        pause = time.time()
        _act(client, as_admin, "pause")
        time.sleep(2.2)
        resume = time.time()
        _act(client, as_admin, "resume")
        time.sleep(2.2)
        cycles.append((pause, resume))
    commands = log.stop()
    assert any(_listens(c) for t, c in commands if t < cycles[0][0]), commands
    measured = [_latencies(commands, pause, resume) for pause, resume in cycles]
    assert all(noticed < 2.0 and back < 2.0 for noticed, back in measured), measured
    with capsys.disabled():
        print("\nidle worker: stopped listening on the paused queue after "
              + ", ".join(f"{n:.2f}" for n, _ in measured) + " s; listened again after "
              + ", ".join(f"{b:.2f}" for _, b in measured) + " s")


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_a_job_submitted_right_after_a_pause_waits_for_the_resume(worker, client, redis,
                                                                 accounts, capsys):
    as_admin, as_user, _ = accounts
    time.sleep(1.5)  # idle, blocked on both queues: the job's arrival wakes it
    _act(client, as_admin, "pause")
    job_id = _countdown(client, as_user)
    time.sleep(3)
    assert _status(job_id) == "queued" and _in_rq_queue(redis, job_id)
    # Usually the worker was blocked on the queue and popped the job: it put it back (the
    # dequeue tests above stage that exactly); else it had looked at the set already.
    put_back = re.search(r"is back in queue default at position \d+: its queue is paused",
                         worker.log()) is not None
    resumed = time.time()
    _act(client, as_admin, "resume")
    wait_for(lambda: _status(job_id) == "finished", timeout=20, message="the job to run")
    started = job_row(job_id).started_at.timestamp() - resumed
    assert 0 <= started < 2.0
    with capsys.disabled():
        print(f"\njob submitted just after the pause (put back: {put_back}): started "
              f"{started:.2f} s after the resume")


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_a_job_running_when_the_pause_comes_finishes(worker, client, redis, accounts):
    as_admin, as_user, _ = accounts
    running = _countdown(client, as_user, steps=3)
    wait_for(lambda: _status(running) == "started", timeout=20, message="the job to start")
    _act(client, as_admin, "pause")
    waiting = _countdown(client, as_user)
    wait_for(lambda: _status(running) == "finished", timeout=20,
             message="the running job to finish")
    time.sleep(2)
    assert _status(waiting) == "queued" and _in_rq_queue(redis, waiting)
    _act(client, as_admin, "resume")
    wait_for(lambda: _status(waiting) == "finished", timeout=20, message="the next job")


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_a_restarted_worker_keeps_the_pause_even_when_redis_lost_it(app, client, redis,
                                                                     accounts):
    as_admin, as_user, _ = accounts
    first = WorkerProcess(child_env()).wait_ready(redis)
    _act(client, as_admin, "pause")
    first.stop()
    redis.delete(PAUSED)  # Redis restarted without it meanwhile
    job_id = _countdown(client, as_user)
    second = WorkerProcess(child_env()).wait_ready(redis)
    try:
        wait_for(lambda: pauses.paused_in_redis(redis) == {"default"}, timeout=10,
                 message="the new worker to put the pause back in Redis")
        time.sleep(3)
        assert _status(job_id) == "queued" and _in_rq_queue(redis, job_id)
        assert "Paused by an operator, not taken from until resumed: default" in second.log()
        _act(client, as_admin, "resume")
        wait_for(lambda: _status(job_id) == "finished", timeout=20, message="the job to run")
    finally:
        second.stop()
