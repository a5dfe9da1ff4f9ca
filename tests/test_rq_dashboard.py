"""rq-dashboard at /rq: admins only; it shows the same jobs, with progress in their meta."""

import json

import pytest

from tests.support import login, make_token, make_user


@pytest.mark.parametrize("path", ["/rq/", "/rq/0/view/workers"])
def test_anonymous_page_visits_go_to_sign_in(client, db_session, path):
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=/rq/")


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [("get", "/rq/0/data/queues.json", {}),
     ("get", "/rq/0/view/workers", {"Accept": "application/json"}),
     ("post", "/rq/queue/default/failed/empty", {}),
     ("get", "/rq/requeue/default", {"Accept": "application/json"})],
)
def test_anonymous_json_and_post_requests_get_401(client, db_session, method, path, headers):
    response = getattr(client, method)(path, headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_signed_in_non_admins_get_403(client, db_session):
    login(client, make_user())
    assert client.get("/rq/").status_code == 403
    assert client.get("/rq/0/data/queues.json").status_code == 403
    assert client.post("/rq/queue/default/failed/empty").status_code == 403


def test_a_bearer_token_does_not_open_the_dashboard(client, db_session):
    token = make_token(make_user(admin=True))
    response = client.get("/rq/0/data/queues.json", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_admins_see_the_queues_and_the_jobs_with_progress(client, db_session):
    admin = make_user(admin=True)
    login(client, admin)
    job_id = client.post("/api/v1/tasks/countdown", json={"steps": 3}).get_json()["id"]
    assert client.get("/rq/").status_code == 200
    queues = client.get("/rq/0/data/queues.json").get_json()
    assert {"name": "default", "count": 1} in [
        {"name": q["name"], "count": q["count"]} for q in queues["queues"]]
    job = client.get(f"/rq/0/data/job/{job_id}.json").get_json()
    assert job["id"] == job_id
    assert json.loads(job["metadata"]) == {"task": "countdown", "progress": 0, "stage": None}
    assert "countdown" in job["description"]
