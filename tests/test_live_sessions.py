"""The live poll's session shortcut (webapp/session_cache.py): an unchanged poll is answered
from Redis, and every way a session ends takes that away, so an ended session's poll gets
401 and never a card; real PostgreSQL and Redis, the test client."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.support import login, make_job, make_user
from tests.test_live import Page, queries
from webapp import session_cache
from webapp.auth.services import set_password
from webapp.extensions import db
from webapp.jobs import transitions
from webapp.models import UserSession
from webapp.sessions import revoke_all_sessions, revoke_session


def _warm(client, user) -> tuple[Page, str]:
    """A home page with a live card whose polls are answered from Redis; (page, the key of
    its session's cache entry)."""
    job = make_job(user, status="started", stage="Private stage")
    page = Page(client, "/")
    assert page.poll().status_code == 204  # the full path, which writes the cache entry
    with queries() as sent:
        assert page.poll().status_code == 204
    assert sent == []
    record = db.session.scalars(UserSession.query.filter_by(user_id=user.id)
                                .order_by(UserSession.id.desc()).limit(1)
                                .statement).one()
    page.job = job
    return page, session_cache.key(record.secret_hash)


def _replayed(app, client):
    """Another client with nothing but a copy of `client`'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _shut_out(page: Page) -> None:
    """The page's poll says "signed out" (401) and carries no card."""
    response = page.poll()
    html = response.get_data(as_text=True)
    assert response.status_code == 401, html
    assert "Private stage" not in html and "job-card" not in html


def test_the_cache_entry_names_the_session_by_its_hash_only(client, user, redis):
    login(client, user)
    _, key = _warm(client, user)
    entry = session_cache.Entry.parse(redis.get(key))
    assert entry is not None and entry.user_id == user.id and not entry.admin
    assert 0 < redis.ttl(key) <= session_cache.TTL
    assert client.get_cookie("session").value not in key


@pytest.mark.parametrize("how", ["sign_out_everywhere", "revoke_one", "password_change",
                                 "delete_user"])
def test_an_ended_session_gets_401_at_once(app, client, user, redis, how):
    login(client, user)
    page, key = _warm(client, user)
    record = db.session.scalars(UserSession.query.filter_by(user_id=user.id).statement).one()
    if how == "sign_out_everywhere":
        revoke_all_sessions(user)
    elif how == "revoke_one":
        assert revoke_session(user, record.id)
    elif how == "password_change":
        set_password(user, "another long password")
    else:
        db.session.delete(user)
    db.session.commit()
    assert redis.get(key) == session_cache.TOMBSTONE.encode()
    _shut_out(page)


def test_signing_out_leaves_a_copied_cookie_worthless_at_once(app, client, user, redis):
    login(client, user)
    _, key = _warm(client, user)
    thief = _replayed(app, client)
    stolen = Page(thief, "/")
    assert stolen.poll().status_code == 204
    assert client.post("/logout").status_code == 303
    assert redis.get(key) == session_cache.TOMBSTONE.encode()
    _shut_out(stolen)


def test_a_cache_that_missed_the_revocation_still_gives_no_content(client, user, redis):
    """Were a tombstone lost (Redis away when the session ended), the entry would still say
    live: the poll may answer an empty 204 while nothing changes, never a card."""
    login(client, user)
    page, key = _warm(client, user)
    live_entry = redis.get(key)
    revoke_all_sessions(user)
    db.session.commit()
    redis.set(key, live_entry, ex=60)  # as if the tombstone never reached Redis
    assert page.poll().status_code == 204
    assert transitions.record_progress(page.job.id, 90, "Private stage, later")
    db.session.commit()
    _shut_out(page)


def test_a_cookie_checked_once_is_still_refused_past_its_maximum_age(app, client, user):
    """The shortcut checks a cookie's signature once per process, its age on every poll: a
    cookie it has let through before is refused once it is older than Flask would take."""
    login(client, user)
    page, _ = _warm(client, user)  # its signature checked, and remembered
    assert page.poll().status_code == 204
    lifetime = app.permanent_session_lifetime
    app.permanent_session_lifetime = timedelta(seconds=0)
    try:
        time.sleep(1.1)  # cookie timestamps count whole seconds
        _shut_out(page)
    finally:
        app.permanent_session_lifetime = lifetime


def test_a_tombstone_is_never_overwritten_by_a_late_check(user, redis):
    secret_hash = "ab" * 32
    redis.set(session_cache.key(secret_hash), session_cache.TOMBSTONE, ex=session_cache.TTL)
    session_cache.remember(redis, secret_hash, user.id, False, int(time.time()) + 3600)
    assert redis.get(session_cache.key(secret_hash)) == session_cache.TOMBSTONE.encode()


def test_an_entry_lasts_no_longer_than_its_session(user, redis):
    secret_hash = "cd" * 32
    session_cache.remember(redis, secret_hash, user.id, False, int(time.time()) + 2)
    assert 0 < redis.ttl(session_cache.key(secret_hash)) <= 2
    entry = session_cache.Entry.parse(redis.get(session_cache.key(secret_hash)))
    assert entry.live_for(str(user.id)) and not entry.live_for(str(user.id + 1))
    assert not entry.live_for(str(user.id), now=time.time() + 3)
    session_cache.remember(redis, "ef" * 32, user.id, False, int(time.time()) - 1)
    assert redis.get(session_cache.key("ef" * 32)) is None  # already over: no entry


def test_an_other_users_cookie_is_not_vouched_for_by_an_entry(app, client, user, redis):
    """The entry must name the cookie's own user: a cookie is signed, but check anyway."""
    login(client, user)
    page, key = _warm(client, user)
    entry = session_cache.Entry.parse(redis.get(key))
    redis.set(key, f"{entry.user_id + 1}:1:{entry.expires}", ex=60)
    with queries() as sent:
        assert page.poll().status_code == 204  # answered, but by the full path
    assert sent


def test_a_new_sign_in_after_a_password_change_polls_again(app, user, redis):
    browser = app.test_client()
    login(browser, user)
    page, _ = _warm(browser, user)
    set_password(user, "another long password")
    db.session.commit()
    _shut_out(page)
    assert browser.post("/login", data={"email": user.email,
                                        "password": "another long password"}).status_code == 303
    assert Page(browser, "/").poll().status_code == 204


def test_admins_are_told_apart_in_the_entry(app, db_session, redis):
    admin = make_user(admin=True)
    browser = app.test_client()
    login(browser, admin)
    _, key = _warm(browser, admin)
    assert session_cache.Entry.parse(redis.get(key)).admin
