"""Sessions end on the server: a cookie replayed after sign-out, "sign out everywhere", a
password change or expiry is anonymous; sign-in rotates the session and its CSRF token; a
cookie's lifetime is fixed at sign-in. Against gunicorn in production mode (tests/live.py).
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.cookies import SimpleCookie

import httpx
import pytest
from itsdangerous import base64_decode
from sqlalchemy import select, text, update

from tests.live import HttpUser, WebProcess
from tests.support import PASSWORD, child_env, make_token, make_user
from webapp.extensions import db
from webapp.jobs import reconcile
from webapp.models import ApiToken, UserSession
from webapp.sessions import start_session


@pytest.fixture(scope="module")
def web(services):
    """The Procfile's web process: 2 gunicorn workers, so requests land on either."""
    process = WebProcess(child_env(), workers=2, threads=4).wait_ready()
    yield process
    process.stop()


def _browser(web: WebProcess, user, agent: str = "test-browser") -> HttpUser:
    browser = HttpUser(web.url)
    browser.http.headers["User-Agent"] = agent
    assert browser.sign_in(user.email).status_code == 303
    browser.csrf("/")  # the signed-in session's CSRF token, for browser.post
    return browser


def _replay(web: WebProcess, cookie: str) -> HttpUser:
    """A client that has nothing but a copy of someone's session cookie."""
    thief = HttpUser(web.url)
    thief.http.cookies.set("session", cookie)
    return thief


def _anonymous(client: HttpUser) -> bool:
    page = client.get("/")
    return (page.status_code == 303 and page.headers["location"].startswith("/login")
            and client.get("/api/v1/jobs").status_code == 401)


def _rows(user) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)))


def _cookie_expiry(response: httpx.Response) -> datetime | None:
    """The Expires of the session cookie this response sets (None: no expiry, or no cookie)."""
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if "session" in cookie and cookie["session"]["expires"]:
            return parsedate_to_datetime(cookie["session"]["expires"])
    return None


def test_a_cookie_saved_before_sign_out_is_worthless_after(web, live_db):
    user = make_user()
    with _browser(web, user) as browser:
        saved, token = browser.http.cookies["session"], browser.token
        assert browser.get("/").status_code == 200
        assert browser.post("/logout", data={"csrf_token": token}).status_code == 303
        assert _anonymous(browser)
    with _replay(web, saved) as thief:
        assert _anonymous(thief)
        minted = thief.http.post("/settings/tokens", data={"name": "stolen", "csrf_token": token},
                                 headers={"X-CSRFToken": token})
        assert minted.status_code == 401
    assert db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id)) is None
    (row,) = _rows(user)
    assert row.revoked_at is not None


def test_sign_out_everywhere_from_a_second_browser_ends_the_first(web, live_db):
    user = make_user()
    bearer = {"Authorization": f"Bearer {make_token(user)}"}
    with _browser(web, user, "laptop") as laptop, _browser(web, user, "phone") as phone:
        listing = phone.get("/settings/sessions").text
        assert "laptop" in listing and "phone" in listing
        assert listing.count(">this browser</span>") == 1
        ended = phone.post("/settings/sessions/revoke-all")
        assert ended.status_code == 303 and ended.headers["location"] == "/login"
        assert _anonymous(laptop) and _anonymous(phone)
        stale = laptop.post("/logout")  # "Sign out" on a page left open: to the sign-in page
        assert stale.status_code == 303 and stale.headers["location"] == "/login"
        # API tokens are not sessions: they keep working until revoked on their own page.
        assert laptop.get("/api/v1/jobs", headers=bearer).status_code == 200
    assert all(row.revoked_at is not None for row in _rows(user))


def test_one_session_can_be_signed_out_from_the_sessions_page(web, live_db):
    user = make_user()
    with _browser(web, user, "laptop") as laptop, _browser(web, user, "phone") as phone:
        (laptop_row,) = [row for row in _rows(user) if row.user_agent == "laptop"]
        page = phone.get("/settings/sessions").text
        assert f"/settings/sessions/{laptop_row.id}/revoke" in page
        assert phone.post(f"/settings/sessions/{laptop_row.id}/revoke").status_code == 303
        assert _anonymous(laptop)
        assert phone.get("/").status_code == 200


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(web, live_db):
    user = make_user()
    new = "a brand new passphrase"
    with _browser(web, user, "laptop") as laptop, _browser(web, user, "phone") as phone:
        stale_token = phone.token
        wrong = phone.post("/settings/password", data={
            "current_password": "not it", "new_password": new, "confirm_password": new})
        assert wrong.status_code == 422 and "Current password" in wrong.text
        changed = phone.post("/settings/password", data={
            "current_password": PASSWORD, "new_password": new, "confirm_password": new})
        assert changed.status_code == 303
        assert _anonymous(laptop)
        assert phone.get("/").status_code == 200  # a fresh session for this browser...
        refused = phone.http.post("/settings/tokens", data={"name": "x", "csrf_token": stale_token})
        assert refused.status_code == 400  # ...with a fresh CSRF token
    with HttpUser(web.url) as other:
        assert other.sign_in(user.email, PASSWORD).status_code == 401
        assert other.sign_in(user.email, new).status_code == 303
    assert len([row for row in _rows(user) if row.revoked_at is None]) == 2


def test_the_cli_password_change_ends_every_session(web, live_db, runner):
    user = make_user()
    with _browser(web, user) as browser:
        result = runner.invoke(args=["users", "set-password", user.email, "--password",
                                     "another long passphrase"])
        assert result.exit_code == 0, result.output
        assert "signed out 1 session" in result.output
        assert _anonymous(browser)


def test_an_expired_session_is_refused_whatever_the_cookie_says(web, live_db):
    user = make_user()
    with _browser(web, user) as browser:
        assert browser.get("/").status_code == 200
        db.session.execute(update(UserSession).where(UserSession.user_id == user.id)
                           .values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        db.session.commit()
        assert _anonymous(browser)


def test_the_cookie_expires_with_its_session_and_a_flash_does_not_move_it(web, live_db):
    user = make_user()
    make_token(user, "old")
    with HttpUser(web.url) as browser:
        signed_in = browser.sign_in(user.email)
        expires = _cookie_expiry(signed_in)
        (row,) = _rows(user)
        assert expires is not None and expires == row.expires_at.replace(microsecond=0)
        assert row.expires_at - row.created_at == timedelta(hours=12)  # SESSION_HOURS
        time.sleep(1.5)  # so that a cookie re-issued "from now" would show another second
        browser.csrf("/")
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id))
        flashed = browser.post(f"/settings/tokens/{token_id}/revoke")
        assert flashed.status_code == 303
        assert _cookie_expiry(flashed) == expires
        shown = browser.get("/settings/tokens")  # reading the flash writes the cookie again
        assert "Revoked token old" in shown.text
        assert _cookie_expiry(shown) == expires


def test_sign_in_rotates_the_session_cookie_and_the_csrf_token(web, live_db):
    user = make_user()
    with HttpUser(web.url) as browser:
        before_token = browser.csrf("/login")
        before_cookie = browser.http.cookies["session"]
        response = browser.http.post("/login", data={"email": user.email, "password": PASSWORD,
                                                     "csrf_token": before_token})
        assert response.status_code == 303
        assert browser.http.cookies["session"] != before_cookie
        after_token = browser.csrf("/")
        assert after_token != before_token
        stale = browser.http.post("/settings/tokens", data={"name": "a",
                                                            "csrf_token": before_token})
        assert stale.status_code == 400 and "security token" in stale.text
        fresh = browser.http.post("/settings/tokens", data={"name": "b",
                                                            "csrf_token": after_token})
        assert fresh.status_code == 201
    with _replay(web, before_cookie) as old:
        assert _anonymous(old)


def test_the_reconciler_prunes_sessions_that_ended_days_ago(live_db):
    user = make_user()
    old, _ = start_session(user, timedelta(hours=1), "192.0.2.1", "old")
    start_session(user, timedelta(hours=1), "192.0.2.2", "live")
    db.session.commit()
    db.session.execute(text("UPDATE user_sessions SET revoked_at = now() - interval '8 days' "
                            "WHERE id = :id"), {"id": old.id})
    db.session.commit()
    repairs = reconcile.run_pass()
    assert repairs["sessions_pruned"] == 1
    assert [row.user_agent for row in _rows(user)] == ["live"]


def test_the_cookie_carries_the_secret_and_the_row_only_its_digest(web, live_db):
    user = make_user()
    with _browser(web, user) as browser:
        cookie = browser.http.cookies["session"]
    payload = base64_decode(cookie.lstrip(".").split(".")[0])
    secret = json.loads(zlib.decompress(payload) if cookie.startswith(".") else payload)[
        "_session"]
    (row,) = _rows(user)
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (row.secret_hash, row.user_agent, row.address)
