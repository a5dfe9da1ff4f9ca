"""The JSON API: every endpoint, and every kind of bad input, against real PostgreSQL/Redis."""

import json
import uuid

import pytest
from rq.job import Job, JobStatus

from tests.support import close_app, login, make_job, make_token, make_user
from webapp import create_app
from webapp.auth.services import revoke_token
from webapp.extensions import db
from webapp.models import ApiToken, BackgroundJob


def _error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_tasks_are_listed_with_their_schemas(client, auth):
    body = client.get("/api/v1/tasks", headers=auth).get_json()
    tasks = {t["name"]: t for t in body["items"]}
    assert {"trigger-test", "countdown", "fail-test"} <= set(tasks)
    steps = tasks["countdown"]["parameters"]["properties"]["steps"]
    assert (steps["type"], steps["minimum"], steps["maximum"], steps["default"]) == (
        "integer", 1, 600, 10)
    assert tasks["fail-test"]["max_attempts"] == 3


def test_submit_returns_202_with_location_and_the_queued_job(client, auth, user, redis):
    response = client.post("/api/v1/tasks/trigger-test", json={"message": "seed"}, headers=auth)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "queued" and body["task"] == "trigger-test"
    assert body["params"] == {"message": "seed"}
    assert response.headers["Location"] == f"/api/v1/jobs/{body['id']}"
    assert Job.fetch(body["id"], connection=redis).get_status() == JobStatus.QUEUED
    fetched = client.get(response.headers["Location"], headers=auth).get_json()
    for key in ("id", "task", "status", "progress", "stage", "result", "error", "error_code",
                "attempt", "project_id", "created_at", "started_at", "ended_at"):
        assert key in fetched
    assert fetched["user_id"] == user.id


def test_submit_with_an_empty_body_uses_defaults(client, auth):
    response = client.post("/api/v1/tasks/countdown", headers=auth)
    assert response.status_code == 202
    assert response.get_json()["params"] == {"steps": 10}


def test_session_cookie_also_authenticates(client, user):
    login(client, user)
    assert client.get("/api/v1/jobs").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer crt_wrong"}, {"Authorization": "Basic dXNlcjpwYXNz"},
     {"Authorization": "Bearer "}],
)
def test_missing_or_bad_credentials_are_401(client, db_session, headers):
    error = _error(client.get("/api/v1/jobs", headers=headers), 401, "unauthorized")
    assert "Bearer" in error["message"] or "token" in error["message"]


def test_a_bad_token_does_not_fall_back_to_the_session(client, user):
    login(client, user)
    _error(client.get("/api/v1/jobs", headers={"Authorization": "Bearer crt_x"}), 401)


def test_revoked_token_is_401(client, user, auth):
    revoke_token(ApiToken.query.filter_by(user_id=user.id).one())
    db.session.commit()
    _error(client.get("/api/v1/jobs", headers=auth), 401)


def test_malformed_json_is_400(client, auth):
    response = client.post("/api/v1/tasks/countdown", data="{steps: 3",
                           content_type="application/json", headers=auth)
    _error(response, 400, "malformed_json")


def test_non_json_body_is_415(client, auth):
    response = client.post("/api/v1/tasks/countdown", data={"steps": "3"}, headers=auth)
    _error(response, 415, "unsupported_media_type")


def test_oversized_body_is_413(client, auth, user):
    response = client.post("/api/v1/tasks/trigger-test", headers=auth,
                           data=json.dumps({"message": "x" * (2 * 1024 * 1024)}),
                           content_type="application/json")
    _error(response, 413, "payload_too_large")
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 0


def test_invalid_parameters_are_422_naming_each_field(client, auth, user):
    response = client.post("/api/v1/tasks/fail-test", headers=auth,
                           json={"message": "", "succeed_on_attempt": -1, "colour": "red"})
    error = _error(response, 422, "invalid_parameters")
    assert {d["field"] for d in error["details"]} == {"message", "succeed_on_attempt", "colour"}
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 0


def test_non_object_parameters_are_422(client, auth):
    error = _error(client.post("/api/v1/tasks/countdown", json=[1], headers=auth), 422)
    assert error["details"][0]["field"] == "(body)"


def test_unknown_task_is_404(client, auth):
    _error(client.post("/api/v1/tasks/nope", json={}, headers=auth), 404, "not_found")


def test_another_users_job_is_404_and_an_admin_sees_it(client, user, auth):
    other = make_user()
    theirs = make_job(other)
    _error(client.get(f"/api/v1/jobs/{theirs.id}", headers=auth), 404)
    _error(client.post(f"/api/v1/jobs/{theirs.id}/cancel", headers=auth), 404)
    _error(client.post(f"/api/v1/jobs/{theirs.id}/retry", headers=auth), 404)
    _error(client.get(f"/api/v1/jobs/{uuid.uuid4()}", headers=auth), 404)
    _error(client.get("/api/v1/jobs/not-a-uuid", headers=auth), 404)
    _error(client.get("/api/v1/nothing-here", headers=auth), 404)
    admin = {"Authorization": f"Bearer {make_token(make_user(admin=True))}"}
    assert client.get(f"/api/v1/jobs/{theirs.id}", headers=admin).status_code == 200


def test_list_is_filtered_and_paginated(client, user, auth):
    for _ in range(3):
        make_job(user, task="countdown", status="finished")
    make_job(user, task="fail-test", status="failed")
    make_job(make_user(), task="countdown", status="finished")
    everything = client.get("/api/v1/jobs", headers=auth).get_json()
    assert (everything["count"], everything["total"], everything["count_capped"]) == (4, 4, False)
    done = client.get("/api/v1/jobs?status=finished&task=countdown&per_page=2",
                      headers=auth).get_json()
    assert (done["count"], len(done["items"]), done["prev"]) == (3, 2, None)
    assert done["next"] and done["next_cursor"] in done["next"]
    assert {j["status"] for j in done["items"]} == {"finished"}
    following = client.get(done["next"], headers=auth).get_json()
    assert len(following["items"]) == 1 and following["next"] is None
    failed = client.get("/api/v1/jobs?status=failed", headers=auth).get_json()
    assert [j["task"] for j in failed["items"]] == ["fail-test"]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=bogus", "status"), ("per_page=0", "per_page"), ("per_page=1000", "per_page"),
     ("page=abc", "page")],
)
def test_bad_list_filters_are_422(client, auth, query, field):
    error = _error(client.get(f"/api/v1/jobs?{query}", headers=auth), 422)
    assert error["details"][0]["field"] == field


def test_cancel_a_queued_job_then_a_second_cancel_is_409(client, auth, redis):
    job_id = client.post("/api/v1/tasks/countdown", json={"steps": 3},
                         headers=auth).get_json()["id"]
    response = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth)
    assert response.status_code == 200
    assert response.get_json()["status"] == "canceled"
    assert Job.fetch(job_id, connection=redis).get_status() == JobStatus.CANCELED
    _error(client.post(f"/api/v1/jobs/{job_id}/cancel", headers=auth), 409, "conflict")


def test_retry_only_from_failed_stopped_or_canceled(client, user, auth):
    done = make_job(user, status="finished")
    _error(client.post(f"/api/v1/jobs/{done.id}/retry", headers=auth), 409)
    failed = make_job(user, status="failed", error="x")
    response = client.post(f"/api/v1/jobs/{failed.id}/retry", headers=auth)
    assert response.status_code == 202
    assert response.get_json()["status"] == "queued"


def test_project_id_must_be_one_of_yours(client, user, auth):
    error = _error(client.post("/api/v1/tasks/countdown?project_id=12345", json={},
                               headers=auth), 422)
    assert error["details"][0]["field"] == "project_id"


def test_redis_down_is_503_and_leaves_no_unfinished_row(db_session, user, auth):
    broken = create_app({"TESTING": True, "REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        response = broken.test_client().post("/api/v1/tasks/countdown", json={"steps": 2},
                                             headers=auth)
    finally:
        close_app(broken)
    error = _error(response, 503, "queue_unavailable")
    assert "queue" in error["message"] and response.headers["Retry-After"].isdigit()
    # The submission limits live in Redis too: nothing was written at all.
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 0


def test_job_pages_are_cursors_and_a_page_number_past_1_says_so(client, auth):
    """GET /api/v1/jobs pages by keyset (next_cursor): page=1 still works, page=2 is a 422."""
    assert client.get("/api/v1/jobs?page=1", headers=auth).status_code == 200
    error = _error(client.get("/api/v1/jobs?page=2", headers=auth), 422)
    assert error["details"][0]["field"] == "page" and "cursor" in error["message"]


@pytest.mark.parametrize("path", ["/api/v1/projects", "/api/v1/audit"])
def test_a_page_past_any_listing_is_422_not_a_database_error(client, db_session, path):
    """Found by fuzzing: page * per_page overflowed PostgreSQL's OFFSET (a 500)."""
    admin = {"Authorization": f"Bearer {make_token(make_user(admin=True))}"}
    error = _error(client.get(f"{path}?page={10**20}", headers=admin), 422)
    assert error["details"] == [{"field": "page",
                                 "message": "Must be an integer between 1 and 1000000."}]
    assert client.get(f"{path}?page=1000000&per_page=100", headers=admin).status_code == 200


def test_a_nul_in_the_task_filter_is_422(client, auth):
    """Found by fuzzing: PostgreSQL cannot compare text with a NUL in it (a 500)."""
    error = _error(client.get("/api/v1/jobs?task=count%00down", headers=auth), 422)
    assert error["details"][0]["field"] == "task"


@pytest.mark.parametrize("raw", ["%C2%B2", "%D9%A3", "99999999999", "1" * 5000])
def test_project_id_argument_takes_ascii_digits_of_a_real_id(client, auth, raw):
    """'²' passed str.isdigit() but not int() (a 500)."""
    error = _error(client.post(f"/api/v1/tasks/countdown?project_id={raw}", headers=auth), 422)
    assert error["details"][0]["field"] == "project_id"


def test_deeply_nested_json_is_422(client, auth, user):
    """Python's JSON parser gives up on deep nesting with a RecursionError (was a 500)."""
    response = client.post("/api/v1/tasks/trigger-test", data="[" * 100_000, headers=auth,
                           content_type="application/json")
    assert _error(response, 422)["details"][0]["field"] == "(body)"
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 0


def test_text_postgresql_cannot_store_is_422_naming_the_field(client, auth, user):
    """Found by fuzzing: a NUL in a parameter reached the JSONB insert (a 500)."""
    response = client.post("/api/v1/tasks/trigger-test", data='{"message": "a\\u0000b"}',
                           headers=auth, content_type="application/json")
    error = _error(response, 422, "invalid_parameters")
    assert error["details"] == [{"field": "message", "message":
                                 "Must not contain NUL characters or unpaired surrogates."}]
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 0


def test_a_finished_job_whose_result_is_not_an_object_has_no_files(client, user, auth):
    """Found by fuzzing: a result is any JSON, and a list has no .get (a 500)."""
    job = make_job(user, status="finished", result=["any", "json"])
    _error(client.get(f"/api/v1/jobs/{job.id}/files/video", headers=auth), 404)
    assert client.get(f"/api/v1/jobs/{job.id}", headers=auth).get_json()["result"] == [
        "any", "json"]


def test_a_wrong_method_is_405_with_allow(client, auth):
    response = client.put("/api/v1/jobs", headers=auth)
    _error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET"}


def test_json_nested_past_the_limit_is_422(client, auth):
    deep = {"message": "x"}
    for _ in range(25):
        deep = {"a": deep}
    response = client.post("/api/v1/tasks/trigger-test", json=deep, headers=auth)
    error = _error(response, 422)
    assert error["details"][0]["field"] == "(body)" and "20 levels" in error["message"]
    very_deep = "[" * 5000 + "]" * 5000
    response = client.post("/api/v1/tasks/trigger-test", data=very_deep,
                           content_type="application/json", headers=auth)
    assert _error(response, 422)["details"][0]["field"] == "(body)"
