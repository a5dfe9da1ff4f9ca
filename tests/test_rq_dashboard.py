"""rq-dashboard at /rq: admins only; it shows the same jobs, with progress in their meta."""

import html
import json

import pytest
from rq import Queue

from tests.support import login, make_job, make_token, make_user


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
    # Escaped for rq-dashboard's templates (see test_every_string_its_pages_render_is_escaped).
    assert json.loads(html.unescape(job["metadata"])) == {"task": "countdown", "progress": 0,
                                                          "stage": None}
    assert "countdown" in job["description"]


PAYLOAD = "<img src=x onerror=\"window.__xss='1'\">"
ESCAPED = "&lt;img src=x onerror=&quot;window.__xss=&#x27;1&#x27;&quot;&gt;"


def test_every_string_its_pages_render_is_escaped(client, db_session, redis):
    """Its JSON, escaped for the templates that insert fields unescaped; the fields a
    template escapes itself come raw, so they read right."""
    login(client, make_user(admin=True))
    queue = Queue("default", connection=redis)
    job = queue.enqueue("builtins.print", PAYLOAD, description=PAYLOAD, job_id="hostile-1")
    job.meta.update({PAYLOAD: PAYLOAD, "progress": 50})
    job.save_meta()
    data = client.get("/rq/0/data/job/hostile-1.json").get_json()
    assert data["description"] == ESCAPED and data["origin"] == "default"
    assert json.loads(html.unescape(data["metadata"])) == {PAYLOAD: PAYLOAD, "progress": 50}
    assert PAYLOAD not in data["metadata"] and "&lt;img" in data["metadata"]
    assert (data["id"], data["status"]) == ("hostile-1", "queued")
    listed = client.get("/rq/0/data/jobs/default/queued/8/asc/1.json").get_json()
    # jobs.html escapes the description itself (jQuery's .text().html()).
    assert [j["description"] for j in listed["jobs"]] == [PAYLOAD]
    assert listed["pagination"]["current_page"] == 1
    assert listed["pagination"]["first_page"]["url"] == "/rq/0/view/jobs/default/queued/8/asc/1"


def test_a_result_is_escaped_as_text_with_its_keys(client, db_session, redis):
    """job.html shows JSON.stringify(result) in <pre>: keys and values escaped, quotes kept."""
    from webapp.rq_admin.escaping import FIELDS, escape_tree

    result = {PAYLOAD: [PAYLOAD, 3, 1.5, True, None]}
    escaped = escape_tree({"result": result, "status": "finished"},
                          FIELDS["rq_dashboard.job_info"])
    text = "&lt;img src=x onerror=\"window.__xss='1'\"&gt;"
    assert escaped == {"result": {text: [text, 3, 1.5, True, None]}, "status": "finished"}


def _admin(client) -> None:
    login(client, make_user(admin=True))


UNKNOWN = "5c0ffee0-0000-4000-8000-000000000000"


@pytest.mark.parametrize(
    ("method", "path", "status", "says"),
    [("get", "/rq/5/view/workers", 404, "no Redis instance 5"),
     ("get", "/rq/5/data/workers.json", 404, "no Redis instance 5"),
     ("get", "/rq/0/view/jobs/default/queued/0/asc/1", 400, "per_page"),
     ("get", "/rq/0/data/jobs/default/queued/abc/asc/1.json", 400, "per_page"),
     ("get", "/rq/0/data/jobs/default/queued/0/asc/1.json", 400, "per_page"),
     ("get", "/rq/0/data/jobs/default/queued/8/asc/0.json", 400, "page must be"),
     ("get", "/rq/0/data/jobs/default/queued/8/asc/99999999999.json", 400, "page must be"),
     ("get", "/rq/0/data/jobs/default/nosuch/8/asc/1.json", 404, "no registry 'nosuch'"),
     ("get", "/rq/0/view/jobs/default/nosuch/8/asc/1", 404, "no registry"),
     ("get", "/rq/0/data/jobs/default/queued/8/up/1.json", 404, "sort order"),
     ("get", "/rq/0/data/jobs/no%5Csuch/queued/8/asc/1.json", 404, "no queue"),
     ("get", "/rq/0/view/jobs/no%5Csuch/queued/8/asc/1", 404, "no queue"),
     ("get", f"/rq/0/view/job/{UNKNOWN}", 404, "no job"),
     ("get", f"/rq/0/data/job/{UNKNOWN}.json", 404, "no job"),
     ("get", "/rq/0/data/job/not..an..id.json", 404, "no job"),
     ("post", f"/rq/job/{UNKNOWN}/requeue", 404, "no job"),
     ("post", f"/rq/job/{UNKNOWN}/delete", 404, "no job"),
     ("post", "/rq/queue/default/nosuch/empty", 404, "no registry"),
     ("post", "/rq/queue/nosuch/queued/empty", 404, "no queue"),
     ("post", "/rq/requeue/nosuch", 404, "no queue")],
)
def test_its_bad_requests_answer_4xx_with_a_message(client, db_session, method, path, status,
                                                    says):
    _admin(client)
    response = getattr(client, method)(path)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    assert says.lower() in html.unescape(body).lower()


def test_a_cutroom_job_redis_forgot_points_to_its_record(client, db_session):
    _admin(client)
    row = make_job(make_user(), status="finished")
    response = client.get(f"/rq/0/view/job/{row.id}")
    assert response.status_code == 404
    assert f"/jobs/{row.id}" in response.get_data(as_text=True)


def test_requeueing_a_job_that_did_not_fail_is_a_conflict(client, db_session, redis):
    _admin(client)
    Queue("default", connection=redis).enqueue("builtins.print", job_id="not-failed")
    response = client.post("/rq/job/not-failed/requeue")
    assert response.status_code == 409
    assert "not in a failed job registry" in response.get_json()["error"]["message"]


def test_the_job_page_data_of_a_job_with_dependencies(client, db_session, redis):
    """rq-dashboard's own view answers 500 for these under rq 3 (every later render stage)."""
    _admin(client)
    queue = Queue("default", connection=redis)
    first = queue.enqueue("builtins.print", job_id="first")
    queue.enqueue("builtins.print", job_id="second", depends_on=first)
    data = client.get("/rq/0/data/job/second.json").get_json()
    assert (data["status"], data["depends_on"], data["depends_on_status"]) == (
        "deferred", ["first"], ["active"])
    assert data["created_at"].endswith("+00:00") and data["result"] is None


def test_a_view_that_raises_answers_4xx_not_500(client, db_session, redis):
    """The backstop: a job record RQ cannot read makes its views raise."""
    _admin(client)
    Queue("default", connection=redis).enqueue("builtins.print", job_id="unreadable")
    redis.hset("rq:job:unreadable", "created_at", "not a date")
    for path in ("/rq/0/data/job/unreadable.json", "/rq/0/data/jobs/default/queued/8/asc/1.json"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "could not handle" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("path", ["/rq/", "/rq/0/view/workers", "/rq/0/view/jobs"])
def test_its_pages_have_a_way_back_to_the_app(client, db_session, path):
    login(client, make_user(admin=True))
    page = client.get(path).get_data(as_text=True)
    link = '<a class="navbar-brand" id="back-to-cutroom" href="/">← Back to Cutroom</a>'
    assert page.count(link) == 1
    assert page.index(link) < page.index('<a class="navbar-brand">RQ-dashboard</a>')


def test_its_worker_views_keep_the_short_redis_timeouts(app):
    """RQ's Worker constructor raises the socket timeout of the connection it is given to
    415 s; rq-dashboard builds Workers on its connection, which must keep the app's 5 s (and
    never touch the app's own client)."""
    from rq import Worker

    from webapp.jobs.connection import get_redis

    with app.app_context():
        dashboard = app.redis_conn
        assert dashboard.connection_pool is not get_redis().connection_pool
        Worker.all(connection=dashboard)
        Worker([], connection=dashboard)
        assert dashboard.connection_pool.connection_kwargs["socket_timeout"] == 5
        assert get_redis().connection_pool.connection_kwargs["socket_timeout"] == 5
        assert dashboard.ping()
