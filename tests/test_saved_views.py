"""Saved views of the jobs explorer: save, list, open, replace, delete; each person's own."""

from __future__ import annotations

import re

import pytest

from tests.support import login, make_user
from webapp.explorer.saved import MAX_VIEWS
from webapp.extensions import db
from webapp.models import SavedView


@pytest.fixture
def owner(db_session):
    return make_user()


def _save(client, name: str, query: str):
    return client.post("/jobs/views", data={"name": name, "query": query})


def _views(client) -> dict[str, str]:
    """{name: link} of the saved views the explorer lists."""
    html = client.get("/jobs").get_data(as_text=True)
    section = html[html.index('id="views-heading"'):html.index("Save this filter as")]
    return {name: href.replace("&amp;", "&") for href, name in
            re.findall(r'<li><a href="([^"]+)">([^<]+)</a>', section)}


def test_a_view_is_saved_listed_opened_replaced_and_deleted(client, owner):
    login(client, owner)
    response = _save(client, "Failed countdowns", "status=failed&status=stopped&task=countdown")
    assert response.status_code == 303
    assert response.headers["Location"] == (
        "/jobs?status=failed&status=stopped&task=countdown")
    link = _views(client)["Failed countdowns"]
    assert link == "/jobs?status=failed&status=stopped&task=countdown"
    opened = client.get(link).get_data(as_text=True)
    assert 'value="failed" checked' in opened and 'value="countdown" selected' in opened

    assert _save(client, "Failed countdowns", "q=boom").status_code == 303  # same name: replaced
    assert _views(client) == {"Failed countdowns": "/jobs?q=boom"}

    view = db.session.query(SavedView).filter_by(user_id=owner.id).one()
    response = client.post(f"/jobs/views/{view.id}/delete", data={"next": "/jobs?q=boom"})
    assert response.status_code == 303 and response.headers["Location"] == "/jobs?q=boom"
    assert _views(client) == {}


def test_views_are_each_persons_own(app, client, owner):
    login(client, owner)
    _save(client, "Mine", "status=failed")
    view = db.session.query(SavedView).filter_by(user_id=owner.id).one()
    theirs = app.test_client()
    login(theirs, make_user())
    assert _views(theirs) == {}
    assert theirs.post(f"/jobs/views/{view.id}/delete").status_code == 404
    _save(theirs, "Mine", "status=queued")  # the same name is theirs to use too
    assert _views(theirs) == {"Mine": "/jobs?status=queued"}
    assert _views(client) == {"Mine": "/jobs?status=failed"}


@pytest.mark.parametrize(("name", "message"), [
    ("", "Give the view a name"), ("   ", "Give the view a name"),
    ("n" * 101, "Give the view a name"), ("bad\x00name", "Give the view a name"),
])
def test_a_bad_name_is_422_beside_the_form(client, owner, name, message):
    login(client, owner)
    response = _save(client, name, "status=failed")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'id="view-error" role="alert"' in html
    assert db.session.query(SavedView).count() == 0


def test_a_tampered_filter_is_422_naming_it(client, owner):
    login(client, owner)
    response = _save(client, "Broken", "status=bogus")
    assert response.status_code == 422
    assert "status" in response.get_data(as_text=True)


def test_at_most_max_views_each(client, owner):
    login(client, owner)
    for n in range(MAX_VIEWS):
        db.session.add(SavedView(user_id=owner.id, name=f"v{n}", query=""))
    db.session.commit()
    response = _save(client, "one more", "")
    assert response.status_code == 422 and "the most allowed" in response.get_data(as_text=True)
    assert _save(client, "v3", "q=again").status_code == 303  # replacing one is fine
