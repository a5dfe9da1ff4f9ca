"""Page or fragment (webapp/fragments.py): every view that can answer either way decides alike."""

import json
import re

import pytest

from tests.support import PASSWORD, login, make_job, secure_login
from webapp import outages
from webapp.extensions import db
from webapp.models import Project

HX = {"HX-Request": "true"}
RESTORE = {**HX, "HX-History-Restore-Request": "true"}
BOOSTED = {**HX, "HX-Boosted": "true"}
SCRIPT = [{"heading": "One", "narration": "The first scene."}]


@pytest.fixture
def signed_in(client, user):
    login(client, user)
    return client


def _live_page(user, kind: str) -> tuple[str, str]:
    """(URL of a view that answers a page or a fragment, how the fragment starts)."""
    if kind == "job":
        job = make_job(user, status="started", progress=40)
        return f"/jobs/{job.id}", '<section class="job-detail"'
    project = Project(user_id=user.id, title="Moons", script=SCRIPT, voice="silent", theme={})
    db.session.add(project)
    db.session.commit()
    return f"/projects/{project.id}?block=output", '<section id="output"'


def _varies(response) -> bool:
    return "HX-Request" in response.vary


@pytest.mark.parametrize("kind", ["job", "project"])
def test_an_htmx_poll_gets_the_fragment_and_vary(signed_in, user, kind):
    url, fragment = _live_page(user, kind)
    response = signed_in.get(url, headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith(fragment) and "<html" not in html
    assert _varies(response)


@pytest.mark.parametrize("headers", [RESTORE, BOOSTED, {}], ids=["restore", "boosted", "plain"])
@pytest.mark.parametrize("kind", ["job", "project"])
def test_history_restores_and_navigations_get_the_whole_page(signed_in, user, kind, headers):
    url, fragment = _live_page(user, kind)
    response = signed_in.get(url, headers=headers)
    html = response.get_data(as_text=True)
    assert html.startswith("<!doctype html>") and fragment in html
    assert _varies(response)


def test_launching_with_htmx_answers_a_fragment_that_varies(signed_in):
    started = signed_in.post("/jobs", data={"task": "trigger-test", "message": "hi"}, headers=HX)
    refused = signed_in.post("/jobs", data={"task": "countdown", "steps": "9999"}, headers=HX)
    assert (started.status_code, refused.status_code) == (200, 422)
    for response in (started, refused):
        assert "<html" not in response.get_data(as_text=True) and _varies(response)


def test_card_actions_with_htmx_answer_fragments_that_vary(signed_in, user):
    waiting, done = make_job(user, status="queued"), make_job(user, status="finished")
    refused = signed_in.post(f"/jobs/{waiting.id}/retry", headers=HX)
    kept = signed_in.post(f"/jobs/{waiting.id}/delete", headers=HX)
    deleted = signed_in.post(f"/jobs/{done.id}/delete", headers=HX)
    assert [r.status_code for r in (refused, kept, deleted)] == [409, 409, 200]
    assert f'id="job-{waiting.id}"' in refused.get_data(as_text=True)
    assert deleted.get_data(as_text=True) == ""
    assert all(_varies(r) for r in (refused, kept, deleted))



@pytest.mark.parametrize(("headers", "whole"), [(HX, False), (RESTORE, True), (BOOSTED, True),
                                                ({}, True)])
def test_an_outage_leaves_a_fragment_alone_and_gives_pages_the_whole_page(app, headers, whole):
    with app.test_request_context("/", headers=headers):
        response = outages.unavailable("queue_unavailable")
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert html.startswith("<!doctype html>") is whole
    assert ("HX-Reswap" in response.headers) is not whole


# Errors: what an htmx request from inside a page gets is meant for that page (issue 11).

ALERT = 'role="alert"'


def _alert_for_the_page(response, status: int) -> str:
    """The body of a refusal htmx puts in the page's alert region; checks the headers."""
    html = response.get_data(as_text=True)
    assert response.status_code == status
    assert (response.headers["HX-Retarget"], response.headers["HX-Reswap"]) == (
        "#flash", "innerHTML")
    assert response.headers["HX-Push-Url"] == "false"  # a boosted form's URL stays
    assert ALERT in html and "<html" not in html and _varies(response)
    return html


def test_the_page_config_swaps_errors_and_never_settles_a_style(signed_in):
    html = signed_in.get("/").get_data(as_text=True)
    config = json.loads(re.search(r'name="htmx-config" content=\'([^\']+)\'', html).group(1))
    assert "style" not in config["attributesToSettle"]  # a style htmx copied: a CSP violation
    assert config["includeIndicatorStyles"] is False

    def handling(status: int) -> dict:
        return next(r for r in config["responseHandling"] if re.match(r["code"], str(status)))

    assert all(handling(s)["swap"] and not handling(s).get("error")
               for s in (400, 401, 403, 404, 409, 422, 429, 500, 503))
    assert handling(502) == {"code": "[45]..", "swap": False, "error": True}
    assert '<div id="flash"' in html


def test_a_card_of_a_deleted_job_becomes_a_note_that_polls_no_more(signed_in):
    gone = "00000000-0000-4000-8000-000000000000"
    for response in (signed_in.get(f"/jobs/{gone}/card", headers=HX),
                     signed_in.post(f"/jobs/{gone}/retry", headers=HX),
                     signed_in.get(f"/jobs/{gone}", headers=HX)):
        html = response.get_data(as_text=True)
        assert response.status_code == 404 and response.headers["HX-Reswap"] == "outerHTML"
        assert "no longer exists" in html and ALERT in html and "hx-trigger" not in html
    page = signed_in.post(f"/jobs/{gone}/retry")
    assert page.status_code == 404 and "no longer exists" in page.get_data(as_text=True)


def test_the_render_output_of_a_deleted_project_becomes_a_note_that_polls_no_more(signed_in):
    polled = signed_in.get("/projects/99999?block=output", headers=HX)
    html = polled.get_data(as_text=True)
    assert polled.status_code == 404 and polled.headers["HX-Reswap"] == "outerHTML"
    assert "no longer exists" in html and ALERT in html and "hx-trigger" not in html
    page = signed_in.get("/projects/99999")
    assert page.status_code == 404 and "no longer exists" in page.get_data(as_text=True)


def test_no_access_is_said_in_the_page_for_htmx_and_as_a_page_otherwise(signed_in):
    posted = signed_in.post("/admin/users/1/limits", data={"max_running_jobs": "3"},
                            headers=BOOSTED)
    assert "You do not have access" in _alert_for_the_page(posted, 403)
    for headers in (BOOSTED, {}):  # a link htmx follows, or a plain page load
        page = signed_in.get("/admin/users", headers=headers)
        html = page.get_data(as_text=True)
        assert page.status_code == 403 and html.startswith("<!doctype html>")
        assert "You do not have access" in html and ALERT in html


def test_a_page_that_does_not_exist_is_a_page_of_ours(client):
    response = client.get("/no-such-page")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and html.startswith("<!doctype html>")
    assert "does not exist" in html and ALERT in html


def test_a_session_that_ended_is_said_in_the_page_with_a_way_back(client, user):
    job = make_job(user, status="failed")
    came_from = {**HX, "HX-Current-URL": "http://localhost/?page=2"}
    for response in (client.post(f"/jobs/{job.id}/retry", headers=came_from),
                     client.get(f"/jobs/{job.id}/card", headers=came_from)):
        html = _alert_for_the_page(response, 401)
        assert "signed out" in html and 'href="/login?next=' in html
        assert "page%3D2" in html or "page=2" in html
    plain = client.post(f"/jobs/{job.id}/retry", data={"next": "/projects"})
    assert plain.status_code == 401 and plain.mimetype == "text/html"
    assert "signed out" in plain.get_data(as_text=True)
    assert client.post(f"/jobs/{job.id}/retry", headers={"Accept": "application/json"}
                       ).get_json()["error"]["code"] == "unauthorized"
    assert client.get(f"/jobs/{job.id}/card").status_code == 303  # a page load: sign in


def test_a_stale_security_token_is_said_in_the_page(secure_app, db_session, user):
    browser = secure_app.test_client()
    secure_login(browser, user)
    job = make_job(user, status="failed")
    refused = browser.post(f"/jobs/{job.id}/retry", headers={**HX, "X-CSRFToken": "stale"})
    html = _alert_for_the_page(refused, 400)
    assert "security token" in html and "Reload the page" in html


def test_a_stale_sign_in_form_comes_back_with_a_fresh_token(secure_app, db_session, user):
    browser = secure_app.test_client()
    refused = browser.post("/login", data={"email": user.email, "password": "x",
                                           "csrf_token": "stale"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "sign in again" in html
    assert 'name="csrf_token"' in html and f'value="{user.email}"' in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    signed = browser.post("/login", data={"email": user.email, "password": PASSWORD,
                                          "csrf_token": token})
    assert signed.status_code == 303


def test_a_button_pressed_during_an_outage_is_told_so(app):
    with app.test_request_context("/jobs", method="POST", headers=HX):
        response = outages.unavailable("queue_unavailable")
    assert "job queue" in _alert_for_the_page(response, 503)


def test_the_page_a_request_came_from_is_only_ever_ours(app):
    from webapp.navigation import origin_page

    cases = [({"HX-Current-URL": "http://localhost/jobs?page=2"}, "/jobs?page=2"),
             ({"HX-Current-URL": "http://evil.example/x"}, "/home"),
             ({"Referer": "http://localhost/projects/3"}, "/projects/3"),
             ({"Referer": "//evil.example/x"}, "/home")]
    for headers, expected in cases:
        with app.test_request_context("/", headers=headers):
            assert origin_page("/home") == expected, headers
