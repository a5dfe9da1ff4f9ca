"""rq-dashboard's Delete, Empty and Requeue buttons are Cutroom operations that stay done.

Done in RQ alone, the reconciler would put a deleted or emptied job whose row still waits
back in the queue, and it would run later. Its errors answer 4xx, and 503 without Redis.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from rq import Queue
from sqlalchemy import select

from tests.support import (
    WorkerProcess,
    child_env,
    close_app,
    job_row,
    login,
    make_job,
    make_token,
    make_user,
    secure_login,
    wait_for,
)
from tests.tcp_proxy import TcpProxy
from webapp.extensions import db
from webapp.jobs import reconcile
from webapp.models import AuditEvent, BackgroundJob


@pytest.fixture
def owner_api(secure_app, live_db):
    """Another user's API client (bearer token: no CSRF token needed)."""
    client = secure_app.test_client()
    # Many jobs in RQ at once, none held back by fair sharing.
    headers = {"Authorization": f"Bearer {make_token(make_user(max_running_jobs=100))}"}

    def submit(task: str, **params) -> str:
        response = client.post(f"/api/v1/tasks/{task}", json=params, headers=headers)
        assert response.status_code == 202, response.get_data(as_text=True)
        return response.get_json()["id"]

    return submit


@pytest.fixture
def admin(secure_app, live_db):
    """An admin's browser-like client: (client, its CSRF headers, the admin)."""
    client = secure_app.test_client()
    user = make_user(admin=True)
    return client, {"X-CSRFToken": secure_login(client, user)}, user


def _until(job_id: str, *statuses: str, timeout: float = 60):
    return wait_for(lambda: (row := job_row(job_id)).status in statuses and row,
                    timeout=timeout, message=f"job {job_id} to become {statuses}")


@pytest.mark.e2e
def test_deleted_and_emptied_jobs_stay_canceled_or_deleted_through_the_reconciler(
        app, redis, owner_api, admin, monkeypatch):
    client, csrf, admin_user = admin
    worker = WorkerProcess(child_env()).wait_ready(redis)
    try:
        finished = owner_api("trigger-test", message="done")
        _until(finished, "finished")
        blocker = owner_api("fail-test", message="long", pause=120)
        _until(blocker, "started")
        waiting = [owner_api("trigger-test", message=f"waiting {i}") for i in range(3)]
        lone = owner_api("trigger-test", message="lone")

        answers = [client.post(f"/rq/job/{lone}/delete", headers=csrf).get_json(),
                   client.post("/rq/queue/default/queued/empty", headers=csrf).get_json(),
                   client.post(f"/rq/job/{finished}/delete", headers=csrf).get_json(),
                   client.post(f"/rq/job/{blocker}/delete", headers=csrf).get_json()]
        for key, value in {"RECOVER_AFTER": 0.0, "HEARTBEAT_GRACE": 2.5,
                           "CANCEL_CONFIRM_TIMEOUT": 2.0}.items():
            monkeypatch.setitem(app.config, key, value)
        repairs = reconcile.run_pass() + reconcile.run_pass()
        assert [job_row(j).status for j in (lone, *waiting)] == ["canceled"] * 4, repairs
        assert "lost_requeued" not in repairs
        _until(blocker, "stopped")
        # The worker is free again: a job put back in the queue would run before this one.
        _until(owner_api("trigger-test", message="after"), "finished")
    finally:
        worker.stop()

    assert answers == [
        {"status": "OK", "outcome": "canceled"},
        {"status": "OK", "canceled": 3, "stopping": 0, "deleted": 0, "skipped": 0},
        {"status": "OK", "outcome": "deleted"},
        {"status": "OK", "outcome": "stopping"}]
    for job_id in (lone, *waiting):
        row = job_row(job_id)
        assert (row.status, row.started_at, row.attempt) == ("canceled", None, 0), job_id
    assert db.session.get(BackgroundJob, uuid.UUID(finished)) is None
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == admin_user.id))
    logged = sorted((e.action, e.target_id) for e in events if e.detail == {"via": "rq-dashboard"})
    assert logged == sorted([("job.cancel", job_id) for job_id in (lone, *waiting, blocker)]
                            + [("job.delete", finished)])


def test_a_render_stage_is_not_deleted_alone(client, db_session, redis):
    login(client, make_user(admin=True))
    owner = make_user()
    pipeline = uuid.uuid4()
    stage = make_job(owner, task="narrate", status="queued", pipeline_id=pipeline,
                     pipeline_step=1)
    done_stage = make_job(owner, task="write-script", status="finished", pipeline_id=pipeline,
                          pipeline_step=0)
    plain = make_job(owner, status="queued")
    queue = Queue("default", connection=redis)
    for row in (stage, plain):
        queue.enqueue("builtins.print", job_id=str(row.id))

    for row in (stage, done_stage):
        refused = client.post(f"/rq/job/{row.id}/delete")
        assert refused.status_code == 409
        assert "one stage of a render" in refused.get_json()["error"]["message"]
    emptied = client.post("/rq/queue/default/queued/empty").get_json()
    assert emptied == {"status": "OK", "canceled": 1, "stopping": 0, "deleted": 0, "skipped": 1}
    assert [job_row(r.id).status for r in (stage, done_stage, plain)] == [
        "queued", "finished", "canceled"]
    assert queue.get_job_ids() == [str(stage.id)]


def test_jobs_that_are_not_cutroom_s_keep_rq_dashboard_s_delete(client, db_session, redis):
    login(client, make_user(admin=True))
    queue = Queue("default", connection=redis)
    queue.enqueue("builtins.print", job_id="foreign-1")
    queue.enqueue("builtins.print", job_id="foreign-2")
    assert client.post("/rq/job/foreign-1/delete").get_json() == {"status": "OK",
                                                                   "outcome": "deleted"}
    assert client.post("/rq/queue/default/queued/empty").get_json()["deleted"] == 1
    assert queue.get_job_ids() == [] and not redis.exists("rq:job:foreign-2")


def _redis_upstream(redis_url: str) -> tuple[str | tuple[str, int], str]:
    """(where the test session's Redis listens, its database number)."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        return parts.path, parse_qs(parts.query).get("db", ["0"])[0]
    return (parts.hostname, parts.port or 6379), (parts.path or "/0").lstrip("/")


@pytest.mark.e2e
def test_without_redis_its_pages_and_actions_answer_503(app, db_session, redis):
    from webapp import create_app

    job = Queue("default", connection=redis).enqueue("builtins.print", job_id="kept")
    upstream, database = _redis_upstream(app.config["REDIS_URL"])
    proxy = TcpProxy(upstream)
    unreachable = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False,
                              "REDIS_URL": f"redis://{proxy.address}/{database}"})
    try:
        client = unreachable.test_client()
        login(client, make_user(admin=True))
        assert client.get("/rq/0/data/queues.json").status_code == 200
        proxy.cut()
        for method, path in (("get", "/rq/"), ("get", "/rq/0/data/queues.json"),
                             ("get", "/rq/0/data/workers.json"),
                             ("get", f"/rq/0/view/job/{job.id}"),
                             ("get", "/rq/0/data/jobs/default/queued/8/asc/1.json"),
                             ("post", f"/rq/job/{job.id}/delete"),
                             ("post", "/rq/queue/default/failed/empty")):
            response = getattr(client, method)(path)
            assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
            assert response.headers["Retry-After"] == "5"
    finally:
        proxy.close()
        close_app(unreachable)
    assert redis.exists("rq:job:kept")
