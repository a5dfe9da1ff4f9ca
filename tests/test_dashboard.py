"""Dashboard pages and fragments, as HTML, with real PostgreSQL and Redis (no worker)."""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import escape
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
def test_live_cards_are_watched_by_the_page_not_polled_alone(signed_in, user, status):
    job = make_job(user, status=status, progress=30, stage="Step 3 of 10")
    html = signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    assert f'class="live-state" name="c" value="{job.id.hex}~' in html
    assert "hx-trigger" not in html and "hx-get" not in html
    assert 'value="30"' in html


@pytest.mark.parametrize("status", ["finished", "failed", "stopped", "canceled"])
def test_final_cards_are_not_watched(signed_in, user, status):
    job = make_job(user, status=status, result={"steps": 1} if status == "finished" else None,
                   error="RuntimeError: boom" if status == "failed" else None)
    html = signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    assert f'id="job-{job.id}"' in html
    assert "hx-trigger" not in html and "live-state" not in html
    assert f'hx-get="/jobs/{job.id}/card"' not in html
    if status == "failed":
        assert "RuntimeError: boom" in html
    if status in ("failed", "stopped", "canceled"):
        assert f'action="/jobs/{job.id}/retry"' in html
    if status == "finished":
        assert "<dt>Steps</dt>\n  <dd>1</dd>" in html


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
    ({"status": "finished", "result": {"steps": 1}}, {"delete"}, ["<dt>Steps</dt>"], []),
    ({"status": "failed", "error": "boom"}, {"retry", "delete"}, ['<p class="error">boom</p>'],
     []),
    ({"status": "stopped", "error": "Stopped on request while running.",
      "cancel_requested_at": NOW}, {"retry", "delete"},
     ['<p class="outcome">Stopped on request.</p>'], ['class="error"']),
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
    assert "Something went wrong in Countdown: x" in html and "<code>exception</code>" in html
    assert "RuntimeError" not in html  # the class name is the recorded error's, for admins
    assert "Traceback (most recent call last)" not in html  # it names the server's files
    assert "hx-trigger" not in html
    admin = app.test_client()
    login(admin, make_user(admin=True))
    page = admin.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Traceback (most recent call last)" in page and "RuntimeError: x" in page


def test_job_page_fragment_is_the_live_detail_block(signed_in, user):
    job = make_job(user, status="started", progress=50)
    response = signed_in.get(f"/jobs/{job.id}", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section class="job-detail"')
    assert f'class="live-state" name="d" value="{job.id.hex}~' in html
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
    html = response.get_data(as_text=True)
    # Live again: watched by the page's poll, which the answer arms (its first poll reads
    # everything again).
    assert f'class="live-state" name="c" value="{job.id.hex}~' in html
    assert '<div id="live-poll" hidden hx-get="/live?v=" hx-trigger="every 2s"' in html
    assert 'hx-swap-oob="true"' in html


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


def _ago(**delta) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def _between(seconds: float) -> dict:
    ended = _ago(seconds=30)
    return {"started_at": ended - timedelta(seconds=seconds), "ended_at": ended}


# Final jobs whose last progress report is still in `stage`: the card says how they ended.
@pytest.mark.parametrize(("task", "fields", "shown", "hidden"), [
    ("countdown", {"status": "finished", "progress": 100, "stage": "Step 10 of 10",
                   "result": {"steps": 10}, **_between(10.2)},
     ['<p class="outcome">Done in 10 s</p>', "<dt>Steps</dt>", 'value="100"'],
     ["Step 10 of 10", 'class="stage"']),
    ("trigger-test", {"status": "finished", "progress": 100, "stage": "Pausing 1 s",
                      "result": {"message": "hi"}, **_between(1.04)},
     ["Done in 1.0 s", "<dt>Message</dt>\n  <dd>hi</dd>"], ["Pausing"]),
    ("narrate", {"status": "finished", "progress": 100, "stage": "Scene 2 of 2: sentence 21 of 23",
                 "result": {"duration": 12.34, "output": "k", "reused": False}, **_between(3.2),
                 "params": {"project_id": 1}},
     ["Done in 3.2 s · 12.3 s of narration"], ["sentence 21 of 23"]),
    ("render-scenes", {"status": "finished", "progress": 100, "stage": "Scene 1 of 7",
                       "result": {"frames": 7, "width": 1280, "height": 720, "reused": True},
                       **_between(2), "params": {"project_id": 1}},
     ["7 stills at 1280×720 (reused: inputs unchanged)"], ["Scene 1 of 7"]),
    ("countdown", {"status": "failed", "progress": 45, "stage": "Step 5 of 10",
                   "error": "RuntimeError: boom", "error_code": "exception", **_between(4)},
     ['<p class="error">Something went wrong in Countdown: boom</p>'],
     ["Step 5 of 10", "<progress", "RuntimeError"]),
    ("countdown", {"status": "stopped", "progress": 45, "stage": "Step 5 of 10",
                   "error": "Stopped on request while running.",
                   "cancel_requested_at": _ago(seconds=31), **_between(4)},
     ['<p class="outcome">Stopped on request at 45%.</p>', 'value="45"'],
     ["Step 5 of 10", 'class="error"']),
    ("countdown", {"status": "canceled", "ended_at": _ago(seconds=5)},
     ['<p class="outcome">Canceled before it started.</p>'], ["<progress", 'class="error"']),
])
def test_final_cards_say_how_the_job_ended_not_its_last_stage(signed_in, user, task, fields,
                                                               shown, hidden):
    job = make_job(user, task=task, **fields)
    html = signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    for text in shown:
        assert text in html
    for text in hidden:
        assert text not in html


@pytest.mark.parametrize(("task", "error", "code", "shown"), [
    ("narrate", "StageError: The voice is not installed.", "exception",
     "The voice is not installed."),
    ("countdown", "KeyError: 'steps'", "exception", "Something went wrong in Countdown: 'steps'"),
    ("countdown", "ZeroDivisionError", "exception", "Something went wrong in Countdown."),
    ("countdown", "webapp.jobs.timeouts.JobTimedOut: Ran past its time limit of 60 seconds.",
     "timeout", "Ran past its time limit of 60 seconds."),
    ("countdown", "Killed by SIGKILL (out of memory?)", "killed",
     "Killed by SIGKILL (out of memory?)"),
    ("countdown", "Canceled: the Narrate stage failed.", None,
     "Canceled: the Narrate stage failed."),
])
def test_people_read_errors_without_class_names_and_admins_see_them_recorded(
        signed_in, user, app, task, error, code, shown):
    job = make_job(user, task=task, status="failed", error=error, error_code=code,
                   params={"project_id": 1} if task == "narrate" else {"steps": 1})
    card = signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    page = signed_in.get(f"/jobs/{job.id}").get_data(as_text=True)
    for html in (card, page):
        assert f'<p class="error">{escape(shown)}' in html
        if shown != error:
            assert escape(error) not in html
    admin = app.test_client()
    login(admin, make_user(admin=True))
    assert escape(error) in admin.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_a_failed_attempt_waiting_for_its_retry_names_no_class(signed_in, user):
    job = make_job(user, status="scheduled", attempt=1, error="RuntimeError: flaky",
                   error_code="exception")
    html = signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    assert "Attempt 1 failed: flaky — retrying" in html and "RuntimeError" not in html


def test_times_carry_a_date_a_relative_age_and_the_full_timestamp(signed_in, user):
    created = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
    job = make_job(user, status="finished", result={"steps": 1}, created_at=created,
                   enqueued_at=created, started_at=created + timedelta(seconds=1),
                   ended_at=created + timedelta(seconds=3))
    days = (datetime.now(UTC) - job.ended_at).days
    ended = ('<time datetime="2025-03-04T05:06:10+00:00" title="2025-03-04 05:06:10 UTC">'
             f"4 Mar 2025 05:06 ({days} days ago)</time>")
    assert f"ended {ended}" in signed_in.get(f"/jobs/{job.id}/card").get_data(as_text=True)
    page = signed_in.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert f"<th>Ended</th><td>{ended}</td>" in page
    assert '<time datetime="2025-03-04T05:06:07+00:00"' in page  # created, queued
    running = make_job(user, status="started", started_at=_ago(minutes=3, seconds=5))
    card = signed_in.get(f"/jobs/{running.id}/card").get_data(as_text=True)
    assert re.search(r"started <time [^>]+>today \d\d:\d\d:\d\d \(3 min ago\)</time>", card) or (
        re.search(r"started <time [^>]+>yesterday ", card))  # just after midnight


def test_the_job_page_shows_results_as_fields_with_the_raw_json_behind_a_toggle(signed_in, user):
    result = {"output": "projects/1/video/abc", "reused": False, "duration": 12.345,
              "width": 1280, "height": 720, "size": 3145728,
              "files": {"video": "video.mp4", "thumbnail": "thumbnail.png"}}
    job = make_job(user, task="assemble-video", status="finished", result=result,
                   params={"project_id": 1}, **_between(5))
    html = signed_in.get(f"/jobs/{job.id}").get_data(as_text=True)
    for label, value in (("Duration", "12.3 s"), ("Size", "3.0 MiB"), ("Reused", "no"),
                         ("Width", "1280"), ("Output", "projects/1/video/abc")):
        assert f"<dt>{label}</dt>\n  <dd>{value}</dd>" in html
    assert f'<a href="/jobs/{job.id}/files/video" hx-boost="false">video</a>' in html
    assert f'<a href="/jobs/{job.id}/files/thumbnail" hx-boost="false">thumbnail</a>' in html
    raw = html[html.index('<details class="raw">'):]
    assert "<summary>Raw JSON</summary>" in raw and '"duration": 12.345' in raw
