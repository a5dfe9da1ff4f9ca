"""Fair sharing and per-user limits: one user cannot crowd everyone else out.

A user's jobs beyond `max_running_jobs` wait in PostgreSQL (held) instead of in RQ's queue,
so another user's job reaches the next free worker; submissions are rate-limited and capped
per user (429 naming the limit), and admins can change a user's limits.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import func, select, update

from tests.live import WebProcess, submit_at_once
from tests.support import WorkerProcess, child_env, job_row, login, make_token, make_user, wait_for
from webapp.extensions import db
from webapp.jobs import reconcile
from webapp.jobs.doctor import check_rows
from webapp.models import AuditEvent, BackgroundJob, User

JOB_SECONDS = 4  # each of A's jobs: a countdown of this many steps


def _submit(client, task="countdown", **params):
    response = client.post(f"/api/v1/tasks/{task}", json=params)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()


def _limit(user: User, **limits) -> None:
    for name, value in limits.items():
        setattr(user, name, value)
    db.session.commit()


@pytest.fixture
def two_users(app, live_db, monkeypatch):
    """Two signed-in test clients; submissions are not rate-limited here."""
    monkeypatch.setitem(app.config, "USER_SUBMIT_RATE", "10000 per minute")
    clients = []
    for _ in range(2):
        client = app.test_client()
        user = make_user()
        login(client, user)
        client.user = user
        clients.append(client)
    return clients


@pytest.mark.e2e
def test_a_user_with_sixty_long_jobs_waiting_does_not_hold_up_another_user(
        app, redis, two_users):
    a, b = two_users
    workers = [WorkerProcess(child_env()).wait_ready(redis) for _ in range(2)]
    try:
        jobs_of_a = [_submit(a, steps=JOB_SECONDS)["id"] for _ in range(60)]
        held = BackgroundJob.query.filter_by(user_id=a.user.id, held=True).count()
        assert held >= 55  # two go to the workers, the rest wait in PostgreSQL
        assert Queue("default", connection=redis).count <= 2
        wait_for(lambda: all(job_row(j).started_at for j in jobs_of_a[:2]),
                 timeout=20, message="A's first two jobs to start on both workers")

        theirs = _submit(b, "trigger-test", message="B's turn")
        row = wait_for(lambda: (r := job_row(theirs["id"])).started_at and r, timeout=30,
                       interval=0.1, message="B's job to start")
        waited = (row.started_at - row.created_at).total_seconds()
        assert waited <= JOB_SECONDS + 2, f"B's job waited {waited:.1f} s"
        still_waiting = BackgroundJob.query.filter(
            BackgroundJob.user_id == a.user.id,
            BackgroundJob.status.in_(["queued", "created"])).count()
        assert still_waiting >= 50, "B's job went ahead of A's queue, not after it"
        assert wait_for(lambda: job_row(theirs["id"]).status == "finished", timeout=20)
        # A's jobs keep flowing, at most two at a time, in the order A submitted them.
        wait_for(lambda: job_row(jobs_of_a[3]).status == "finished", timeout=60,
                 message="A's fourth job to finish")
        running = BackgroundJob.query.filter_by(user_id=a.user.id, status="started").count()
        assert running <= 2
        assert job_row(jobs_of_a[-1]).status == "queued" and job_row(jobs_of_a[-1]).held
    finally:
        for job_id in jobs_of_a:
            a.post(f"/api/v1/jobs/{job_id}/cancel")
        for worker in workers:
            worker.stop()
    assert all(job_row(j).is_final for j in jobs_of_a)


def test_a_held_job_shows_why_and_can_be_canceled(client, db_session, redis, monkeypatch):
    user = make_user()
    _limit(user, max_running_jobs=1)
    login(client, user)
    first, second = _submit(client), _submit(client)
    assert (first["held"], second["held"]) == (False, True)
    assert second["status"] == "queued" and "free slot" in second["stage"]
    assert redis.exists(f"rq:job:{second['id']}") == 0  # not in RQ at all
    card = client.get(f"/jobs/{second['id']}/card").get_data(as_text=True)
    assert "Waiting for a free slot" in card
    assert client.post(f"/api/v1/jobs/{second['id']}/cancel").get_json()["status"] == "canceled"
    assert not job_row(second["id"]).held


def test_when_a_job_ends_the_owners_oldest_held_job_is_dispatched(client, live_db, redis):
    from webapp.jobs import outcomes

    user = make_user()
    _limit(user, max_running_jobs=1)
    login(client, user)
    ids = [_submit(client)["id"] for _ in range(3)]
    assert [job_row(i).held for i in ids] == [False, True, True]
    outcomes.record(outcomes.started, ids[0], "w1")
    outcomes.record(outcomes.finished, ids[0], {"steps": 1})
    assert [job_row(i).held for i in ids] == [False, False, True]
    assert redis.exists(f"rq:job:{ids[1]}") == 1 and redis.exists(f"rq:job:{ids[2]}") == 0
    client.post(f"/api/v1/jobs/{ids[1]}/cancel")  # a canceled one frees its slot too
    assert not job_row(ids[2]).held


def test_parallel_submits_never_pass_the_waiting_limit(live_db):
    user = make_user()
    _limit(user, max_waiting_jobs=5, submit_rate="1000 per minute")
    web = WebProcess(child_env(), workers=2, threads=8).wait_ready()
    try:
        responses = submit_at_once(web, make_token(user), 12)
    finally:
        web.stop()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] * 5 + [429] * 7, statuses
    refused = next(r for r in responses if r.status_code == 429).json()["error"]
    assert refused["code"] == "limit_exceeded"
    assert refused["details"][0]["field"] == "max_waiting_jobs"
    assert "at most 5" in refused["message"]
    count = db.session.scalar(select(func.count()).select_from(BackgroundJob)
                              .where(BackgroundJob.user_id == user.id))
    assert count == 5


def test_submitting_too_fast_is_429_with_retry_after_naming_the_rate(client, db_session):
    user = make_user()
    _limit(user, submit_rate="3 per minute")
    login(client, user)
    for _ in range(3):
        _submit(client, steps=1)
    refused = client.post("/api/v1/tasks/countdown", json={"steps": 1})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    error = refused.get_json()["error"]
    assert error["details"][0]["field"] == "submit_rate" and "3 per minute" in error["message"]
    # The dashboard's form says so where the user is looking, with and without htmx.
    form = {"task": "countdown", "steps": "1"}
    page = client.post("/jobs", data=form)
    fragment = client.post("/jobs", data=form, headers={"HX-Request": "true"})
    for response in (page, fragment):
        assert response.status_code == 429 and "too fast" in response.get_data(as_text=True)
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 3


def test_project_count_and_narration_length_limits(client, db_session):
    user = make_user()
    _limit(user, max_projects=1, max_render_seconds=10)
    login(client, user)
    long_script = [{"heading": "Long", "narration": " ".join(["word"] * 60)}]  # about 24 s
    project = client.post("/api/v1/projects", json={"title": "One", "script": long_script,
                                                    "voice": "silent"})
    assert project.status_code == 201
    second = client.post("/api/v1/projects", json={"title": "Two", "topic": "Bees"})
    assert second.status_code == 429
    assert second.get_json()["error"]["details"][0]["field"] == "max_projects"
    render = client.post(project.get_json()["links"]["render"])
    assert render.status_code == 422
    detail = render.get_json()["error"]["details"][0]
    assert detail["field"] == "script" and "at most" in detail["message"]


@pytest.mark.e2e
def test_a_script_written_from_a_topic_is_held_to_the_narration_limit(
        client, app, redis, live_db):
    user = make_user()
    _limit(user, max_render_seconds=20)
    login(client, user)
    worker = WorkerProcess(child_env()).wait_ready(redis)
    try:
        project = client.post("/api/v1/projects", json={
            "title": "Bees", "topic": "How bees make honey", "voice": "silent"}).get_json()
        stages = client.post(project["links"]["render"]).get_json()["stages"]
        narrate = stages[1]["id"]
        row = wait_for(lambda: job_row(narrate).is_final and job_row(narrate), timeout=60,
                       message="the narrate stage to end")
    finally:
        worker.stop()
    assert row.status == "failed" and "at most 0.33333 minutes" not in row.error
    assert "renders may have at most" in row.error and "minutes of narration" in row.error


def test_admins_raise_a_limit_and_held_jobs_start_at_once(app, client, db_session, redis):
    admin, user = make_user(admin=True), make_user()
    _limit(user, max_running_jobs=1)
    login(client, user)
    ids = [_submit(client)["id"] for _ in range(3)]
    assert sum(job_row(i).held for i in ids) == 2
    client = app.test_client()
    login(client, admin)
    response = client.patch(f"/api/v1/users/{user.id}",
                            json={"limits": {"max_running_jobs": 3}})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["limits"]["max_running_jobs"] == 3 and body["usage"]["running"] == 3
    assert not any(job_row(i).held for i in ids)
    assert all(redis.exists(f"rq:job:{i}") for i in ids)
    event = AuditEvent.query.filter_by(action="user.limits").one()
    assert event.detail == {"changed": {"max_running_jobs": [1, 3]}}
    bad = client.patch(f"/api/v1/users/{user.id}", json={"limits": {"max_running_jobs": -1,
                                                                    "wings": 2}})
    assert bad.status_code == 422
    assert {d["field"] for d in bad.get_json()["error"]["details"]} == {
        "limits.max_running_jobs", "limits.wings"}
    page = client.post(f"/admin/users/{user.id}/limits", data={"max_running_jobs": "",
                                                               "submit_rate": "5 per hour"})
    assert page.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.max_running_jobs, user.submit_rate) == (None, "5 per hour")
    mine = client.get("/api/v1/me").get_json()
    assert mine["email"] == admin.email and mine["own_limits"]["max_running_jobs"] is None


def test_the_reconciler_dispatches_held_jobs_that_fit_and_never_calls_them_lost(
        client, app, db_session, redis, monkeypatch):
    monkeypatch.setitem(app.config, "RECOVER_AFTER", 0.0)
    user = make_user()
    _limit(user, max_running_jobs=1)
    login(client, user)
    ids = [_submit(client)["id"] for _ in range(3)]
    redis.delete(*[f"rq:job:{i}" for i in ids[1:]])  # held ones have no RQ job anyway
    assert check_rows(redis) == []  # the doctor does not count held rows as lost
    reconcile.run_pass()
    assert [job_row(i).status for i in ids] == ["queued"] * 3  # not failed as lost
    assert sum(job_row(i).held for i in ids) == 2
    # A limit raised behind the app's back (or a release missed while Redis was down):
    db.session.execute(update(User).where(User.id == user.id).values(max_running_jobs=5))
    db.session.commit()
    repairs = reconcile.run_pass()
    assert repairs["held_dispatched"] == 1
    assert not any(job_row(i).held for i in ids)


def test_a_unit_left_created_is_admitted_fairly_by_the_reconciler(
        client, app, db_session, redis, monkeypatch):
    monkeypatch.setitem(app.config, "RECOVER_AFTER", 0.0)
    user = make_user()
    _limit(user, max_running_jobs=1)
    login(client, user)
    _submit(client)
    stray = BackgroundJob(task="countdown", queue="default", params={"steps": 1},
                          user_id=user.id, status="created")
    db.session.add(stray)
    db.session.commit()
    db.session.execute(update(BackgroundJob).where(BackgroundJob.id == stray.id)
                       .values(created_at=func.now() - timedelta(minutes=5)))
    db.session.commit()
    repairs = reconcile.run_pass()
    assert repairs["created_held"] == 1
    row = job_row(stray.id)
    assert (row.status, row.held) == ("queued", True)
