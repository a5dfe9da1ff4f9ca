"""Queues: their numbers, pausing and resuming them (page, API, command line), the audit of
it, the paused line on waiting cards, and Redis's copy of the pauses (real PostgreSQL and
Redis, inside the test's transaction; the workers' side is in test_queue_pauses_e2e.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry

from tests.support import login, make_job, make_token, make_user
from webapp.extensions import db
from webapp.jobs import pauses, reconcile
from webapp.models import AuditEvent, QueuePause

QUEUE_KEYS = {"name", "paused", "paused_at", "paused_by", "waiting", "held", "scheduled",
              "running", "failed_24h", "oldest_waiting_at", "oldest_waiting_seconds", "rq",
              "workers"}


@pytest.fixture
def admin(db_session):
    return make_user(admin=True)


@pytest.fixture
def as_admin(admin):
    return {"Authorization": f"Bearer {make_token(admin)}"}


def _queue(client, headers, name="default") -> dict:
    response = client.get("/api/v1/queues", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return next(q for q in response.get_json()["items"] if q["name"] == name)


def test_counts_come_from_the_rows_and_rq_beside_them(client, as_admin, redis, user):
    now = datetime.now(UTC)
    oldest = now - timedelta(minutes=7)
    make_job(user, status="queued", enqueued_at=oldest)
    make_job(user, status="queued", enqueued_at=now - timedelta(minutes=1))
    make_job(user, status="queued", held=True, created_at=now - timedelta(minutes=3))
    make_job(user, status="deferred", enqueued_at=now)
    make_job(user, status="scheduled", enqueued_at=now - timedelta(hours=5))
    make_job(user, status="started", worker_name="w")
    make_job(user, status="failed", ended_at=now - timedelta(hours=2))
    make_job(user, status="failed", ended_at=now - timedelta(hours=30))  # not in the last day
    make_job(user, status="finished", ended_at=now)
    Queue("default", connection=redis).enqueue_call(print, job_id="in-rq")
    redis.zadd(ScheduledJobRegistry("default", connection=redis).key, {"later": 1})

    queue = _queue(client, as_admin)
    assert set(queue) == QUEUE_KEYS
    assert (queue["waiting"], queue["held"], queue["scheduled"], queue["running"],
            queue["failed_24h"]) == (4, 1, 1, 1, 1)
    assert queue["rq"] == {"waiting": 1, "scheduled": 1, "running": 0}
    assert datetime.fromisoformat(queue["oldest_waiting_at"]) == oldest
    assert 7 * 60 <= queue["oldest_waiting_seconds"] < 8 * 60
    assert (queue["paused"], queue["paused_at"], queue["paused_by"]) == (False, None, None)
    assert queue["workers"] == 0
    video = _queue(client, as_admin, "video")
    assert (video["waiting"], video["oldest_waiting_at"]) == (0, None)


def test_the_queues_page_shows_the_numbers_and_the_pause(client, admin, user):
    make_job(user, status="queued", enqueued_at=datetime.now(UTC) - timedelta(minutes=3))
    login(client, admin)
    page = client.get("/console/queues")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'aria-label="Console"' in html  # the console's navigation under the h1
    assert 'data-label="Waiting">1' in html and "3 min" in html
    assert "/console/queues/default/pause" in html

    response = client.post("/console/queues/default/pause")
    assert response.status_code == 303 and response.location.endswith("/console/queues")
    html = client.get("/console/queues").get_data(as_text=True)
    assert "Queue default paused" in html  # the flash
    assert "Paused</span> since <time" in html and f"by {admin.email}" in html
    assert "/console/queues/default/resume" in html

    assert client.post("/console/queues/default/resume").status_code == 303
    html = client.get("/console/queues").get_data(as_text=True)
    assert "Queue default resumed." in html and "Paused</span>" not in html
    assert client.post("/console/queues/nope/pause").status_code == 404


def test_pages_are_for_admins_only(client, user):
    login(client, user)
    for path in ("/console/queues", "/console/workers"):
        assert client.get(path).status_code == 403
    assert client.post("/console/queues/default/pause").status_code == 403
    assert QueuePause.query.count() == 0


def test_pause_and_resume_by_api_are_mirrored_in_redis_and_audited(client, admin, as_admin,
                                                                    redis):
    response = client.post("/api/v1/queues/video/pause", headers=as_admin)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == QUEUE_KEYS
    assert (body["name"], body["paused"], body["paused_by"]) == ("video", True, admin.email)
    assert pauses.paused_in_redis(redis) == {"video"}
    row = db.session.get(QueuePause, "video")
    assert (row.paused_by_id, row.paused_by) == (admin.id, admin.email)

    again = client.post("/api/v1/queues/video/pause", headers=as_admin).get_json()
    assert again["paused_at"] == body["paused_at"]  # already paused: unchanged, not audited
    resumed = client.post("/api/v1/queues/video/resume", headers=as_admin).get_json()
    assert (resumed["paused"], resumed["paused_at"]) == (False, None)
    assert pauses.paused_in_redis(redis) == set()
    assert QueuePause.query.count() == 0

    events = AuditEvent.query.order_by(AuditEvent.id).all()
    assert [(e.action, e.target_type, e.target_id, e.actor_id, e.owner_id) for e in events] == [
        ("queue.pause", "queue", "video", admin.id, None),
        ("queue.resume", "queue", "video", admin.id, None)]
    assert events[1].detail == {"paused_at": body["paused_at"], "paused_by": admin.email}


def test_api_refusals(client, user, as_admin):
    for method, path in (("get", "/api/v1/queues"), ("post", "/api/v1/queues/default/pause"),
                         ("post", "/api/v1/queues/default/resume"), ("get", "/api/v1/workers")):
        assert getattr(client, method)(path).status_code == 401
        response = getattr(client, method)(
            path, headers={"Authorization": f"Bearer {make_token(user)}"})
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
    unknown = client.post("/api/v1/queues/nope/pause", headers=as_admin)
    assert unknown.status_code == 404
    error = unknown.get_json()["error"]
    assert "'nope'" in error["message"] and "default, video" in error["message"]
    assert error["details"] == [{"field": "name", "message": error["message"]}]
    assert client.post("/api/v1/queues/nope/resume", headers=as_admin).status_code == 404
    bad = client.post("/api/v1/queues/default/pause", headers=as_admin,
                      json={"reason": "deploy"})
    assert bad.status_code == 422
    assert bad.get_json()["error"]["details"][0]["field"] == "reason"
    assert client.post("/api/v1/queues/default/pause", headers=as_admin,
                       json=[1]).status_code == 422
    assert QueuePause.query.count() == 0


def test_cli_pauses_and_resumes_and_is_audited(runner, db_session, redis):
    result = runner.invoke(args=["jobs", "pause", "default"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Queue default paused."
    assert pauses.paused_in_redis(redis) == {"default"}
    row = db.session.get(QueuePause, "default")
    assert row.paused_by.startswith("command line (") and row.paused_by_id is None
    again = runner.invoke(args=["jobs", "pause", "default"])
    assert "was already paused (since" in again.output and row.paused_by in again.output

    result = runner.invoke(args=["jobs", "resume", "default"])
    assert (result.exit_code, result.output.strip()) == (0, "Queue default resumed.")
    assert runner.invoke(args=["jobs", "resume", "default"]).output.strip() == \
        "Queue default was not paused."
    assert pauses.paused_in_redis(redis) == set()
    unknown = runner.invoke(args=["jobs", "pause", "nope"])
    assert unknown.exit_code == 1 and "No queue called 'nope'" in unknown.output

    events = AuditEvent.query.order_by(AuditEvent.id).all()
    assert [(e.action, e.target_id, e.actor_id, e.actor_email) for e in events] == [
        ("queue.pause", "default", None, row.paused_by),
        ("queue.resume", "default", None, row.paused_by)]
    assert events[0].detail == {"via": "command line"}


def test_the_audit_page_names_the_command_line(client, runner, admin):
    runner.invoke(args=["jobs", "pause", "video"])
    login(client, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "queue.pause" in html and "command line (" in html
    assert "(deleted user)" not in html


def test_waiting_cards_of_a_paused_queue_say_so(client, user, admin, redis):
    waiting = make_job(user, status="queued")
    running = make_job(user, status="started")
    login(client, user)
    card = f"/jobs/{waiting.id}/card"
    assert "Queue paused by an operator" not in client.get(card).get_data(as_text=True)
    pauses.pause("default", admin, redis)
    assert "Queue paused by an operator" in client.get(card).get_data(as_text=True)
    assert "Queue paused by an operator" not in client.get(
        f"/jobs/{running.id}/card").get_data(as_text=True)
    assert "Queue paused by an operator" in client.get("/").get_data(as_text=True)
    pauses.resume("default", admin, redis)
    assert "Queue paused by an operator" not in client.get(card).get_data(as_text=True)


def test_a_redis_that_lost_the_pauses_gets_them_back_from_the_reconciler(app, admin, redis):
    pauses.pause("video", admin, redis)
    redis.delete(pauses.PAUSED_KEY)  # a Redis restart without persistence
    redis.sadd(pauses.PAUSED_KEY, "default")  # and a pause whose commit failed
    repairs = reconcile.Pass().run()
    assert pauses.paused_in_redis(redis) == {"video"}
    assert (repairs["pause_mirrored"], repairs["pause_unmirrored"]) == (1, 1)
    assert reconcile.Pass().run()["pause_mirrored"] == 0  # nothing to do any more
