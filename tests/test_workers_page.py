"""The workers page and GET /api/v1/workers: every live worker with its job, heartbeat and
memory; a stale heartbeat flagged; an admin stopping a worker's job from there, audited."""

from __future__ import annotations

import socket
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from rq.utils import utcformat

from tests.support import (
    WorkerProcess,
    child_env,
    job_row,
    login,
    make_job,
    make_token,
    make_user,
    wait_for,
)
from webapp.jobs.worker import vitals
from webapp.models import AuditEvent

WORKER_KEYS = {"name", "hostname", "pid", "queues", "state", "current_job", "rq_job_id",
               "last_heartbeat", "heartbeat_age_seconds", "heartbeat_interval", "stale",
               "rss_bytes", "horse_rss_bytes", "memory_bytes", "successful_jobs",
               "failed_jobs", "started_at"}


def _bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user)}"}


def _workers(client, headers) -> dict[str, dict]:
    response = client.get("/api/v1/workers", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return {w["name"]: w for w in response.get_json()["items"]}


def _fake_worker(redis, name: str, heartbeat_ago: float, interval: int = 10) -> None:
    """A worker's record as RQ writes it, its last heartbeat `heartbeat_ago` seconds old
    (a worker hung or cut off from Redis: its record has not expired yet)."""
    now = datetime.now(UTC)
    redis.hset(f"rq:worker:{name}", mapping={
        "birth": utcformat(now - timedelta(hours=1)),
        "last_heartbeat": utcformat(now - timedelta(seconds=heartbeat_ago)),
        "queues": "default", "pid": 4242, "hostname": "elsewhere", "state": "idle",
        vitals.RSS: 50 * 2**20, vitals.HORSE_RSS: 0, vitals.INTERVAL: interval})
    redis.sadd("rq:workers", f"rq:worker:{name}")


@pytest.fixture
def two_workers(app, redis, live_db):
    env = child_env(WORKER_HEARTBEAT_INTERVAL="1")
    workers = [WorkerProcess(env).wait_ready(redis),
               WorkerProcess(env, queues=("default",)).wait_ready(redis)]
    yield workers
    for worker in workers:
        worker.stop()


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_two_live_workers_their_job_and_stopping_it(two_workers, client, redis):
    owner, admin = make_user(), make_user(admin=True)
    as_admin = _bearer(admin)
    response = client.post("/api/v1/tasks/countdown", json={"steps": 30},
                           headers=_bearer(owner))
    job_id = response.get_json()["id"]
    row = wait_for(lambda: (r := job_row(job_id)).status == "started" and r, timeout=20,
                   message="the countdown to start")
    busy = next(w for w in two_workers if w.name == row.worker_name)
    idle = next(w for w in two_workers if w is not busy)
    wait_for(lambda: _workers(client, as_admin)[busy.name]["horse_rss_bytes"], timeout=10,
             message="the busy worker to report its work-horse's memory")

    listed = _workers(client, as_admin)
    assert set(listed) == {w.name for w in two_workers}
    queues = {two_workers[0].name: ["default", "video"], two_workers[1].name: ["default"]}
    for worker in two_workers:
        item = listed[worker.name]
        assert set(item) == WORKER_KEYS
        assert (item["pid"], item["hostname"]) == (worker.process.pid, socket.gethostname())
        assert item["queues"] == queues[worker.name]
        assert item["rss_bytes"] > 10 * 2**20 and not item["stale"]
        assert item["heartbeat_interval"] == 1 and item["heartbeat_age_seconds"] < 3
        assert item["started_at"] is not None
    assert listed[busy.name]["state"] == "busy"
    assert listed[busy.name]["current_job"] == {"id": job_id, "task": "countdown",
                                                "url": f"/api/v1/jobs/{job_id}"}
    assert listed[busy.name]["memory_bytes"] == (listed[busy.name]["rss_bytes"]
                                                 + listed[busy.name]["horse_rss_bytes"])
    assert (listed[idle.name]["state"], listed[idle.name]["current_job"]) == ("idle", None)

    login(client, admin)
    html = client.get("/console/workers").get_data(as_text=True)
    for worker in two_workers:
        assert worker.name in html and f"· {worker.process.pid}</td>" in html
    assert f'href="/jobs/{job_id}"' in html and f'value="{job_id}"' in html
    assert " MiB <small" in html and "(work-horse " in html and " ago" in html
    assert 'badge-failed">stale' not in html

    response = client.post(f"/console/workers/{busy.name}/stop-job", data={"job_id": job_id})
    assert response.status_code == 303, response.get_data(as_text=True)
    wait_for(lambda: job_row(job_id).status == "stopped", timeout=20,
             message="the job to stop")
    event = AuditEvent.query.filter_by(action="job.cancel").one()
    assert (event.target_id, event.actor_id, event.owner_id) == (job_id, admin.id, owner.id)
    assert event.detail == {"via": "workers page", "worker": busy.name}
    wait_for(lambda: _workers(client, as_admin)[busy.name]["current_job"] is None, timeout=10,
             message="the worker to be idle again")


def test_a_stale_heartbeat_is_flagged(client, redis, db_session):
    admin = make_user(admin=True)
    _fake_worker(redis, "stuck", heartbeat_ago=25, interval=10)  # over 2 x 10 s (+ 2 s)
    _fake_worker(redis, "fine", heartbeat_ago=15, interval=10)
    listed = _workers(client, _bearer(admin))
    assert (listed["stuck"]["stale"], listed["fine"]["stale"]) == (True, False)
    assert listed["stuck"]["hostname"] == "elsewhere" and listed["stuck"]["pid"] == 4242
    assert listed["stuck"]["rss_bytes"] == 50 * 2**20
    login(client, admin)
    html = client.get("/console/workers").get_data(as_text=True)
    fine, stuck = html.index('id="worker-fine"'), html.index('id="worker-stuck"')  # by name
    assert 'badge-failed">stale' in html[stuck:] and "50.0 MiB" in html[stuck:]
    assert 'badge-failed">stale' not in html[fine:stuck]


def test_stop_job_refusals_name_what_is_wrong(client, redis, db_session):
    admin, owner = make_user(admin=True), make_user()
    _fake_worker(redis, "idle-one", heartbeat_ago=1)
    elsewhere = make_job(owner, status="started", worker_name="someone-else")
    login(client, admin)
    missing = client.post("/console/workers/idle-one/stop-job", data={})
    assert missing.status_code == 422 and "job_id" in missing.get_data(as_text=True)
    assert client.post("/console/workers/idle-one/stop-job",
                       data={"job_id": "not a uuid"}).status_code == 422
    moved_on = client.post("/console/workers/idle-one/stop-job",
                           data={"job_id": str(elsewhere.id)})
    assert moved_on.status_code == 409
    assert "is not running job" in moved_on.get_data(as_text=True)
    gone = client.post("/console/workers/nobody/stop-job", data={"job_id": str(uuid.uuid4())})
    assert gone.status_code == 404 and "No live worker" in gone.get_data(as_text=True)
    assert job_row(elsewhere.id).cancel_requested_at is None
    assert AuditEvent.query.count() == 0


def test_listing_workers_leaves_the_web_clients_timeout_alone(app, client, redis, db_session,
                                                              monkeypatch):
    """RQ's Worker constructor raises its client's socket timeout to 415 s; the listing's
    reader must not do that to the web's client (a hung Redis would hold requests)."""
    from webapp.jobs.connection import get_redis

    options = get_redis().connection_pool.connection_kwargs
    monkeypatch.setitem(options, "socket_timeout", 5)
    _fake_worker(redis, "any", heartbeat_ago=1)
    assert "any" in _workers(client, _bearer(make_user(admin=True)))
    assert options["socket_timeout"] == 5
