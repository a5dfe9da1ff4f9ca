"""Dashboard pages and fragments, as HTML, with real PostgreSQL and Redis (no worker)."""

import re
import uuid
from datetime import UTC, datetime

import pytest
from rq.job import Job, JobStatus

from tests.support import job_row, login, make_job, make_user
from webapp.models import BackgroundJob

HX = {"HX-Request": "true"}


@pytest.fixture
def signed_in(client, user):
    login(client, user)
    return client


def _only_job(user) -> BackgroundJob:
    jobs = BackgroundJob.query.filter_by(user_id=user.id).all()
    assert len(jobs) == 1
    return jobs[0]


def test_home_has_a_launch_form_per_task(signed_in):
    html = signed_in.get("/").get_data(as_text=True)
    for name in ("trigger-test", "countdown", "fail-test"):
        assert f'id="launch-{name}"' in html
    assert 'name="steps"' in html and 'min="1"' in html and 'max="600"' in html
    assert "vendor/htmx-2.0.11.min.js" in html
    assert 'hx-boost="true"' in html


def test_starting_a_job_without_javascript_redirects(signed_in, user, redis):
    response = signed_in.post("/jobs", data={"task": "countdown", "steps": "4"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    job = _only_job(user)
    assert (job.status, job.params, job.attempt) == ("queued", {"steps": 4}, 0)
    rq_job = Job.fetch(job.rq_id, connection=redis)
    assert rq_job.get_status() == JobStatus.QUEUED
    assert rq_job.kwargs == {"steps": 4}
    assert f'id="job-{job.id}"' in signed_in.get("/").get_data(as_text=True)


def test_starting_a_job_with_htmx_returns_the_form_and_the_new_card(signed_in, user):
    response = signed_in.post("/jobs", data={"task": "trigger-test", "message": "hey"},
                              headers=HX)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    job = _only_job(user)
    assert 'id="launch-trigger-test"' in html
    assert 'hx-swap-oob="afterbegin:#job-list"' in html
    assert f'id="job-{job.id}"' in html


@pytest.mark.parametrize("headers", [{}, HX])
def test_bad_form_input_names_the_field_and_starts_nothing(signed_in, user, headers):
    response = signed_in.post("/jobs", data={"task": "countdown", "steps": "9999"},
                              headers=headers)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'class="field has-error">\s*<label for="countdown-steps"', html)
    assert "less than or equal to 600" in html
    assert 'value="9999"' in html
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 0


def test_unknown_task_in_form_is_404(signed_in):
    assert signed_in.post("/jobs", data={"task": "nope"}).status_code == 404


@pytest.mark.parametrize("status", ["created", "queued", "scheduled", "started"])
def test_live_cards_poll_their_own_fragment(signed_in, user, status):
    job = make_job(user, status=status, progress=30, stage="Step 3 of 10")
    html = signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    assert f'hx-get="/jobs/{job.id}/card"' in html
    assert 'hx-trigger="every 2s"' in html
    assert 'value="30"' in html


@pytest.mark.parametrize("status", ["finished", "failed", "stopped", "canceled"])
def test_final_cards_carry_no_polling_trigger(signed_in, user, status):
    job = make_job(user, status=status, result={"steps": 1} if status == "finished" else None,
                   error="RuntimeError: boom" if status == "failed" else None)
    html = signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    assert f'id="job-{job.id}"' in html
    assert "hx-trigger" not in html
    assert f'hx-get="/jobs/{job.id}/card"' not in html
    if status == "failed":
        assert "RuntimeError: boom" in html
    if status in ("failed", "stopped", "canceled"):
        assert f'action="/jobs/{job.id}/retry"' in html
    if status == "finished":
        assert '<pre class="result">{"steps": 1}</pre>' in html


NOW = datetime.now(UTC)


@pytest.mark.parametrize(("fields", "actions", "shown", "hidden"), [
    ({"status": "queued"}, {"cancel"}, ["Waiting for a worker", ">Cancel</button>"], []),
    ({"status": "deferred"}, {"cancel"}, [">Cancel</button>"], ["Waiting for a worker"]),
    ({"status": "started", "stage": "Step 1"}, {"cancel"}, [">Stop</button>"], ["stopping"]),
    ({"status": "started", "cancel_requested_at": NOW}, set(), ["Running · stopping"], []),
    ({"status": "scheduled", "attempt": 1, "error": "boom"}, {"cancel"},
     ["Attempt 1 failed: boom — retrying"], []),
    ({"status": "started", "attempt": 2, "error": "boom"}, {"cancel"},
     ["Attempt 2 failed: boom</p>"], ["retrying"]),
    ({"status": "finished", "result": {"steps": 1}}, {"delete"}, ['<pre class="result">'], []),
    ({"status": "failed", "error": "boom"}, {"retry", "delete"}, ['<p class="error">boom</p>'],
     []),
    ({"status": "stopped", "error": "Stopped."}, {"retry", "delete"},
     ['<p class="error">Stopped.</p>'], []),
    ({"status": "canceled"}, {"retry", "delete"}, [], ['class="error"']),
    ({"status": "failed", "error": "boom", "pipeline_id": uuid.uuid4(), "pipeline_step": 0},
     set(), ['<p class="error">boom</p>'], []),
])
def test_cards_offer_what_the_job_allows(signed_in, user, fields, actions, shown, hidden):
    job = make_job(user, **fields)
    html = signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    offered = {a for a in ("cancel", "retry", "delete") if f'action="/jobs/{job.id}/{a}"' in html}
    assert offered == actions
    assert (offered == {job.can_cancel and "cancel", job.can_retry and "retry",
                        job.can_delete and "delete"} - {False})
    for text in shown:
        assert text in html
    for text in hidden:
        assert text not in html


def test_job_page_shows_params_result_and_error_and_admins_the_traceback(signed_in, user, app):
    job = make_job(user, status="failed", params={"steps": 7}, attempt=3, error="RuntimeError: x",
                   error_code="exception", traceback="Traceback (most recent call last):\n...")
    html = signed_in.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "<th>steps</th>" in html and "7" in html
    assert "RuntimeError: x" in html and "<code>exception</code>" in html
    assert "Traceback (most recent call last)" not in html  # it names the server's files
    assert "hx-trigger" not in html
    admin = app.test_client()
    login(admin, make_user(admin=True))
    assert "Traceback (most recent call last)" in admin.get(f"/jobs/{job.id}").get_data(
        as_text=True)


def test_job_page_fragment_is_the_live_detail_block(signed_in, user):
    job = make_job(user, status="started", progress=50)
    response = signed_in.get(f"/jobs/{job.id}", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="job-detail"')
    assert 'hx-trigger="every 2s"' in html
    assert "<html" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_cancel_a_queued_job_from_its_card(signed_in, user, redis):
    signed_in.post("/jobs", data={"task": "countdown", "steps": "5"})
    job = _only_job(user)
    response = signed_in.post(f"/jobs/{job.id}/cancel", headers=HX)
    assert response.status_code == 200
    assert "Canceled" in response.get_data(as_text=True)
    assert job_row(job.id).status == "canceled"
    assert Job.fetch(job.rq_id, connection=redis).get_status() == JobStatus.CANCELED


def test_cancel_without_javascript_goes_back(signed_in, user):
    job = make_job(user, status="queued")
    response = signed_in.post(f"/jobs/{job.id}/cancel", data={"next": "/?page=1"})
    assert (response.status_code, response.headers["Location"]) == (303, "/?page=1")
    assert job_row(job.id).status == "canceled"


def test_cancel_of_a_final_job_is_a_conflict(signed_in, user):
    job = make_job(user, status="finished")
    response = signed_in.post(f"/jobs/{job.id}/cancel", headers=HX)
    assert response.status_code == 409
    assert "cannot be canceled" in response.get_data(as_text=True)


def test_retry_a_failed_job_queues_it_again(signed_in, user, redis):
    job = make_job(user, status="failed", attempt=1, error="x", error_code="exception")
    response = signed_in.post(f"/jobs/{job.id}/retry", headers=HX)
    assert response.status_code == 200
    row = job_row(job.id)
    assert (row.status, row.error, row.attempt) == ("queued", None, 1)
    assert Job.fetch(job.rq_id, connection=redis).get_status() == JobStatus.QUEUED
    assert 'hx-trigger="every 2s"' in response.get_data(as_text=True)


def test_jobs_are_paginated_newest_first(signed_in, user):
    for steps in range(1, 26):
        make_job(user, params={"steps": steps})
    first = signed_in.get("/").get_data(as_text=True)
    second = signed_in.get("/?page=2").get_data(as_text=True)
    assert first.count('class="job-card') == 20
    assert second.count('class="job-card') == 5
    assert "Page 2 of 2" in second


def test_users_only_see_their_own_jobs(client, db_session):
    owner, other, admin = make_user(), make_user(), make_user(admin=True)
    job = make_job(owner, status="failed")
    login(client, other)
    for method, path in [("get", f"/jobs/{job.id}"), ("get", f"/jobs/{job.id}/card"),
                         ("post", f"/jobs/{job.id}/cancel"), ("post", f"/jobs/{job.id}/retry")]:
        assert getattr(client, method)(path).status_code == 404, path
    assert f"job-{job.id}" not in client.get("/").get_data(as_text=True)
    assert client.get(f"/jobs/{uuid.uuid4()}").status_code == 404
    assert client.get("/jobs/not-a-uuid").status_code == 404
    client.post("/logout")
    login(client, admin)
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert owner.email in page
    assert f"job-{job.id}" in client.get("/").get_data(as_text=True)
