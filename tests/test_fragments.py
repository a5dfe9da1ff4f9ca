"""Page or fragment (webapp/fragments.py): every view that can answer either way decides alike."""

import pytest

from tests.support import login, make_job
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
