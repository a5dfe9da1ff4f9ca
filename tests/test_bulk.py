"""Bulk actions: `POST /api/v1/jobs/bulk` (202 with the bulk job, 422 naming the field),
the explorer's bulk form (a page at most at once, all matching in the background), and the
background job's run: audited, idempotent, resumable after a crash, never acting on itself."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.support import job_row, login, make_job, make_token, make_user
from webapp.explorer import bulk
from webapp.extensions import db
from webapp.jobs import service
from webapp.models import AuditEvent, BackgroundJob


def _bearer(user) -> dict:
    return {"Authorization": f"Bearer {make_token(user)}"}


def test_bulk_answers_202_with_the_bulk_job(client, user, auth, redis):
    ids = [str(make_job(user).id) for _ in range(2)]
    response = client.post("/api/v1/jobs/bulk", json={"action": "cancel", "ids": ids},
                           headers=auth)
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["task"], body["status"], body["user_id"]) == ("bulk-action", "queued", user.id)
    assert body["params"]["action"] == "cancel" and body["params"]["ids"] == ids
    assert body["params"]["filter"] is None and body["params"]["as_of"]
    assert response.headers["Location"] == f"/api/v1/jobs/{body['id']}"
    assert redis.exists(f"rq:job:{body['id']}")
    by_filter = client.post("/api/v1/jobs/bulk", headers=auth, json={
        "action": "retry", "filter": {"status": "failed", "created_after": "2026-01-01"}})
    assert by_filter.status_code == 202
    assert by_filter.get_json()["params"]["filter"] == {
        "status": ["failed"], "created_after": "2026-01-01T00:00:00+00:00"}


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "explode", "ids": [str(uuid.uuid4())]}, "action"),
    ({"ids": [str(uuid.uuid4())]}, "action"),
    ({"action": "cancel"}, "ids"),
    ({"action": "cancel", "ids": [str(uuid.uuid4())], "filter": {}}, "ids"),
    ({"action": "cancel", "ids": []}, "ids"),
    ({"action": "cancel", "ids": "all"}, "ids"),
    ({"action": "cancel", "ids": [str(uuid.uuid4()), "not-an-id"]}, "ids.1"),
    ({"action": "cancel", "ids": [str(uuid.uuid4())] * 1001}, "ids"),
    ({"action": "cancel", "filter": []}, "filter"),
    ({"action": "cancel", "filter": {"colour": "red"}}, "filter.colour"),
    ({"action": "cancel", "filter": {"status": ["failed", "bogus"]}}, "filter.status"),
    ({"action": "cancel", "filter": {"created_after": "tomorrow"}}, "filter.created_after"),
    ({"action": "cancel", "filter": {"project_id": True}}, "filter.project_id"),
    ({"action": "cancel", "filter": {"task": 5}}, "filter.task"),
    ({"action": "cancel", "filter": {}, "everything": True}, "everything"),
    ([1, 2], "(body)"),
])
def test_bad_bulk_input_is_422_naming_the_field(client, auth, body, field):
    response = client.post("/api/v1/jobs/bulk", json=body, headers=auth)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["details"][0]["field"] == field
    assert db.session.scalar(select(BackgroundJob).where(
        BackgroundJob.task == "bulk-action")) is None


def test_at_most_three_bulk_actions_at_once(client, user, auth):
    for _ in range(bulk.MAX_ACTIVE):
        make_job(user, task="bulk-action", status="started",
                 params={"action": "cancel", "ids": None, "filter": {}, "as_of": "x"})
    response = client.post("/api/v1/jobs/bulk", json={"action": "cancel", "filter": {}},
                           headers=auth)
    assert response.status_code == 429
    assert response.get_json()["error"]["details"][0]["field"] == "bulk_actions"


def test_bulk_action_is_not_started_through_the_task_endpoint(client, auth):
    response = client.post("/api/v1/tasks/bulk-action", json={}, headers=auth)
    assert response.status_code == 404
    assert "POST /api/v1/jobs/bulk" in response.get_json()["error"]["message"]


# The explorer's bulk form -------------------------------------------------------------------


def _form(action: str, scope: str, **fields) -> dict:
    return {"action": action, "scope": scope, "query": fields.pop("query", ""),
            "next": "/jobs?task=countdown", **fields}


def test_ticked_jobs_are_canceled_at_once_and_the_page_says_so(client, user, redis):
    waiting = [make_job(user) for _ in range(3)]
    ended = make_job(user, status="finished")
    login(client, user)
    ticked = [str(waiting[0].id), str(waiting[1].id), str(ended.id)]
    response = client.post("/jobs/bulk", data=_form("cancel", "selected", ids=ticked))
    assert response.status_code == 303 and response.headers["Location"] == "/jobs?task=countdown"
    assert [job_row(j.id).status for j in waiting] == ["canceled", "canceled", "queued"]
    assert job_row(ended.id).status == "finished"
    page = client.get("/jobs?task=countdown").get_data(as_text=True)
    assert "Canceled 2 of 3 jobs; 1 skipped (already done, or not allowed)." in page


def test_every_job_on_the_page_is_retried(client, user, redis):
    failed = [make_job(user, status="failed", error="boom") for _ in range(2)]
    login(client, user)
    response = client.post("/jobs/bulk", data=_form(
        "retry", "page", page_ids=[str(j.id) for j in failed], query="status=failed"))
    assert response.status_code == 303
    assert {job_row(j.id).status for j in failed} == {"queued"}


def test_nothing_ticked_is_a_422_beside_the_buttons(client, user):
    make_job(user)
    login(client, user)
    response = client.post("/jobs/bulk", data=_form("cancel", "selected", query="status=queued"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Tick the jobs to act on first" in html and "1 job matches" in html


@pytest.mark.parametrize(("data", "text"), [
    ({"action": "explode", "scope": "page"}, "Must be one of: cancel, retry, delete."),
    ({"action": "cancel", "scope": "galaxy"}, "Choose the ticked jobs"),
    ({"action": "cancel", "scope": "selected", "ids": "nope"}, "Not a job id."),
])
def test_bad_bulk_forms_are_422(client, user, data, text):
    login(client, user)
    response = client.post("/jobs/bulk", data={"query": "", **data})
    assert response.status_code == 422 and text in response.get_data(as_text=True)


def test_someone_elses_ticked_job_is_left_alone(client, user, redis):
    theirs = make_job(make_user())
    login(client, user)
    client.post("/jobs/bulk", data=_form("cancel", "selected", ids=[str(theirs.id)]))
    assert job_row(theirs.id).status == "queued"


def test_an_admins_bulk_cancel_is_audited_for_other_peoples_jobs(client, db_session, redis):
    admin, owner = make_user(admin=True), make_user()
    theirs, own = make_job(owner), make_job(admin)
    login(client, admin)
    client.post("/jobs/bulk", data=_form("cancel", "selected", ids=[str(theirs.id),
                                                                   str(own.id)]))
    events = db.session.scalars(select(AuditEvent)).all()
    assert [(e.action, e.target_id, e.owner_id, e.detail) for e in events] == [
        ("job.cancel", str(theirs.id), owner.id, {"via": "bulk"})]


def test_all_matching_starts_the_bulk_job(client, user, redis):
    for _ in range(3):
        make_job(user)
    login(client, user)
    response = client.post("/jobs/bulk", data=_form("cancel", "all", query="status=queued"))
    assert response.status_code == 303
    started = db.session.scalar(select(BackgroundJob).where(BackgroundJob.task == "bulk-action"))
    assert started.params["filter"] == {"status": ["queued"]} and started.status == "queued"
    page = client.get("/jobs?status=queued").get_data(as_text=True)
    assert f'id="job-{started.id}"' in page
    # Its card is live: watched by the page's one poll, which is armed.
    assert f'name="c" value="{started.id.hex}~' in page and 'hx-trigger="every 2s"' in page
    assert "Canceling every job that matches, in the background" in page


# The background job's run, in this process -----------------------------------------------


def _bulk_row(actor, action: str = "cancel", **params) -> BackgroundJob:
    as_of = db.session.scalar(select(db.func.now()))
    return make_job(actor, task="bulk-action", status="started",
                    params={"action": action, "ids": None, "filter": {}, "as_of": str(as_of),
                            **params})


def _run(row: BackgroundJob, job_filter: dict | None = None, ids=None) -> dict:
    return bulk.run(str(row.id), row.params["action"], ids, job_filter,
                    row.params["as_of"])


def test_a_run_resumes_after_a_crash_and_a_rerun_does_nothing_twice(redis, monkeypatch,
                                                                     db_session):
    admin, owner = make_user(admin=True), make_user()
    jobs = [make_job(owner) for _ in range(30)]
    row = _bulk_row(admin)
    real, calls = service.cancel, []

    def crash_after_ten(job, actor, **detail):
        if len(calls) == 10:
            raise RuntimeError("the work-horse died")
        calls.append(job.id)
        return real(job, actor, **detail)

    monkeypatch.setattr(service, "cancel", crash_after_ten)
    with pytest.raises(RuntimeError):
        _run(row, {"task": "countdown"})
    assert sum(job_row(j.id).status == "canceled" for j in jobs) == 10
    monkeypatch.setattr(service, "cancel", real)
    again = _run(row, {"task": "countdown"})
    assert (again["matched"], again["done"], again["skipped"]) == (30, 20, 10)
    assert {job_row(j.id).status for j in jobs} == {"canceled"}
    once_more = _run(row, {"task": "countdown"})
    assert (once_more["matched"], once_more["done"], once_more["skipped"]) == (30, 0, 30)
    audited = db.session.scalars(select(AuditEvent.target_id)).all()
    assert sorted(audited) == sorted(str(j.id) for j in jobs)  # each job once
    assert {e.detail["bulk_job"] for e in db.session.scalars(select(AuditEvent))} == {
        str(row.id)}


def test_a_run_never_acts_on_its_own_row_nor_on_newer_jobs(redis, db_session):
    user = make_user()
    older = make_job(user, status="finished")
    row = _bulk_row(user, "delete")
    row.status = "finished"  # so that it would be deletable, were it not itself
    db.session.commit()
    as_of = datetime.fromisoformat(row.params["as_of"])
    newer = make_job(user, status="finished", created_at=as_of + timedelta(seconds=1))
    result = _run(row, {})
    assert (result["matched"], result["done"]) == (1, 1)
    db.session.expire_all()
    assert db.session.get(BackgroundJob, older.id) is None
    assert db.session.get(BackgroundJob, row.id) is not None
    assert db.session.get(BackgroundJob, newer.id) is not None


def test_a_users_run_touches_only_their_own_jobs(redis, db_session):
    user, other = make_user(), make_user()
    mine, theirs = make_job(user), make_job(other)
    result = _run(_bulk_row(user), None, ids=[str(mine.id), str(theirs.id)])
    assert (result["matched"], result["done"]) == (1, 1)
    assert (job_row(mine.id).status, job_row(theirs.id).status) == ("canceled", "queued")


def test_the_result_line_says_what_happened():
    assert bulk.describe({"action": "cancel", "matched": 500, "done": 480, "stopping": 5,
                          "skipped": 10, "refused": 0, "failed": 5}) == (
        "Canceled 480 of 500 jobs; 5 asked to stop, 10 skipped (already done, or not "
        "allowed), 5 not reached: the queue was down")
    assert bulk.describe({"action": "delete", "matched": 2, "done": 2, "stopping": 0,
                          "skipped": 0, "refused": 0, "failed": 0}) == "Deleted 2 of 2 jobs"
