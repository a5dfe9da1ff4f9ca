"""One poll per page (webapp/live): the poller, what a poll answers, and that an unchanged
poll is answered without PostgreSQL; real PostgreSQL and Redis, the test client."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qsl, urlencode

import pytest
from sqlalchemy import event

from tests.support import login, make_job, make_user
from webapp.extensions import db
from webapp.jobs import transitions

HX = {"HX-Request": "true", "HX-Current-URL": "http://localhost/"}
POLLER = re.compile(r'<div id="live-poll" hidden([^>]*)>')
STATE = re.compile(r'<input type="hidden" class="live-state" name="(\w)" value="([^"]+)"')


@pytest.fixture
def signed_in(client, user):
    login(client, user)
    return client


@contextmanager
def queries():
    """The SQL statements PostgreSQL is sent meanwhile (by any connection of the app)."""
    sent: list[str] = []

    def record(conn, cursor, statement, *args):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def poller(html: str) -> str | None:
    """The poll URL of the page's (or an answer's) poller; None when it is not armed."""
    found = POLLER.search(html)
    assert found, "no poller"
    url = re.search(r'hx-get="([^"]+)"', found.group(1))
    return unescape(url.group(1)) if url else None


def states(html: str) -> list[tuple[str, str]]:
    return STATE.findall(html)


class Page:
    """A page as htmx holds it: its poll URL and its live inputs, updated by each answer."""

    def __init__(self, client, path: str):
        self.client = client
        html = client.get(path).get_data(as_text=True)
        self.url = poller(html)
        self.inputs = dict(((k, v.partition("~")[0]), v) for k, v in states(html))

    def poll(self, headers=HX):
        """One poll, as the poller sends it; applies the answer's new inputs and poller."""
        path, _, query = self.url.partition("?")
        args = parse_qsl(query) + [(k, v) for (k, _), v in self.inputs.items()]
        response = self.client.get(f"{path}?{urlencode(args)}", headers=headers)
        html = response.get_data(as_text=True)
        if response.status_code == 200:
            for swapped in re.findall(r'id="job-([0-9a-f-]+)"[^>]*hx-swap-oob', html):
                key = swapped.replace("-", "")
                self.inputs.pop(("c", key), None)
            self.inputs.update(((k, v.partition("~")[0]), v) for k, v in states(html))
            if 'id="live-poll"' in html:
                self.url = poller(html)
        return response


def test_a_page_with_several_live_cards_has_one_poller_and_no_card_polls(signed_in, user):
    live = [make_job(user, status=s) for s in ("queued", "started", "scheduled")]
    final = make_job(user, status="finished", result={"steps": 1})
    html = signed_in.get("/").get_data(as_text=True)
    assert "hx-trigger" not in html.replace(POLLER.search(html).group(0), "")
    assert poller(html).startswith("/live?v=")
    assert 'hx-trigger="every 2s" hx-include=".live-state" hx-swap="none"' in html
    watched = {value.partition("~")[0] for kind, value in states(html) if kind == "c"}
    assert watched == {job.id.hex for job in live}  # the final card is not watched
    assert final.id.hex not in watched


def test_a_page_without_live_cards_does_not_poll(signed_in, user):
    make_job(user, status="failed", error="boom")
    html = signed_in.get("/").get_data(as_text=True)
    assert poller(html) is None and "hx-trigger" not in html


def test_an_unchanged_poll_is_204_without_any_postgresql_query(signed_in, user):
    make_job(user, status="started", progress=10)
    make_job(user, status="queued")
    page = Page(signed_in, "/")
    assert page.poll().status_code == 204  # the full path: it checks the session once
    with queries() as sent:
        for _ in range(3):
            response = page.poll()
            assert response.status_code == 204 and response.get_data() == b""
    assert sent == []


def test_a_change_sends_only_that_card_and_a_new_validator(signed_in, user):
    moving, still = make_job(user, status="started", progress=10), make_job(user, status="queued")
    page = Page(signed_in, "/")
    assert page.poll().status_code == 204
    old_url = page.url
    assert transitions.record_progress(moving.id, 55, "Halfway")
    db.session.commit()
    response = page.poll()
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="job-{moving.id}" data-status="started" hx-swap-oob="true"' in html
    assert 'value="55"' in html and "Halfway" in html
    assert f'id="job-{still.id}"' not in html
    assert page.url != old_url and page.url.startswith("/live?v=")
    assert page.poll().status_code == 204  # the new validator is current


def test_a_final_card_drops_out_and_the_poller_stops_when_nothing_is_live(signed_in, user):
    first, second = make_job(user, status="started"), make_job(user, status="started")
    page = Page(signed_in, "/")
    assert transitions.mark_finished(first.id, {"steps": 1})
    db.session.commit()
    html = page.poll().get_data(as_text=True)
    assert f'id="job-{first.id}" data-status="finished"' in html
    assert ("c", first.id.hex) not in page.inputs and ("c", second.id.hex) in page.inputs
    assert page.url is not None  # the other card is still live
    assert 'id="job-counts"' in html  # a card ended: the counts on the home page follow
    assert transitions.mark_failed(second.id, "boom", "exception")
    db.session.commit()
    html = page.poll().get_data(as_text=True)
    assert f'id="job-{second.id}" data-status="failed"' in html
    assert page.url is None  # nothing live: the poller is disarmed
    assert not [key for key in page.inputs if key[0] == "c"]


def test_a_poll_with_nothing_live_stops_without_postgresql(signed_in):
    with queries() as sent:
        response = signed_in.get("/live?v=x", headers=HX)
    assert response.status_code == 200 and poller(response.get_data(as_text=True)) is None
    assert sent == []


def test_a_deleted_job_becomes_a_note(signed_in, user):
    job = make_job(user, status="queued")
    page = Page(signed_in, "/")
    db.session.delete(job)
    db.session.commit()
    html = page.poll().get_data(as_text=True)
    assert f'id="job-{job.id}" hx-swap-oob="true"' in html and "no longer exists" in html


def test_another_users_job_is_never_shown(client, user):
    other = make_user()
    login(client, other)
    job = make_job(user, status="started", stage="secret stage")
    html = client.get(f"/live?v=&c={job.id.hex}~x", headers=HX).get_data(as_text=True)
    assert "secret stage" not in html and "no longer exists" in html


def test_admins_see_changes_of_other_users_cards(app, user):
    job = make_job(user, status="started", progress=5)
    admin = app.test_client()
    login(admin, make_user(admin=True))
    page = Page(admin, "/")
    assert ("c", job.id.hex) in page.inputs
    assert page.poll().status_code == 204
    assert page.poll().status_code == 204
    assert transitions.record_progress(job.id, 70, "Nearly")
    db.session.commit()
    html = page.poll().get_data(as_text=True)
    assert f'id="job-{job.id}"' in html and "Nearly" in html


def test_a_change_to_another_users_job_does_not_wake_my_page(signed_in, user):
    make_job(user, status="started")
    theirs = make_job(make_user(), status="started")
    page = Page(signed_in, "/")
    assert page.poll().status_code == 204
    assert transitions.record_progress(theirs.id, 50, None)
    db.session.commit()
    with queries() as sent:
        assert page.poll().status_code == 204
    assert sent == []


def test_heartbeats_wake_no_page(signed_in, user):
    job = make_job(user, status="started")
    page = Page(signed_in, "/")
    assert page.poll().status_code == 204
    assert transitions.record_heartbeat(job.id)
    db.session.commit()
    with queries() as sent:
        assert page.poll().status_code == 204
    assert sent == []


def test_a_job_started_elsewhere_appears_on_the_first_page(signed_in, user):
    # Each its own time: rows of one test share its transaction's now().
    make_job(user, status="started", created_at=datetime.now(UTC) - timedelta(seconds=5))
    page = Page(signed_in, "/")
    assert any(kind == "n" for kind, _ in page.inputs)
    new = make_job(user, status="queued", created_at=datetime.now(UTC))
    html = page.poll().get_data(as_text=True)
    assert 'hx-swap-oob="afterbegin:#job-list"' in html and f'id="job-{new.id}"' in html
    assert ("c", new.id.hex) in page.inputs
    assert page.poll().status_code == 204  # not brought again


def test_the_job_page_watches_its_detail(signed_in, user):
    job = make_job(user, status="started", progress=1)
    page = Page(signed_in, f"/jobs/{job.id}")
    assert list(page.inputs) == [("d", job.id.hex)]
    assert page.poll().status_code == 204
    assert transitions.mark_finished(job.id, {"steps": 3})
    db.session.commit()
    html = page.poll(headers={**HX, "HX-Current-URL": f"http://localhost/jobs/{job.id}"}
                     ).get_data(as_text=True)
    assert '<section class="job-detail" id="job-detail" hx-swap-oob="true">' in html
    assert "Finished" in html and page.url is None


def test_a_poll_of_a_signed_out_browser_is_told_to_sign_in(client, user):
    job = make_job(user, status="started")
    response = client.get(f"/live?v=&c={job.id.hex}~x", headers=HX)
    assert response.status_code == 401 and response.headers["HX-Retarget"] == "#flash"
