"""Edges an attacker pokes at: huge numbers in URLs, tracebacks, forwarded headers, the Host
header in redirects, odd Range headers, padded colours, two accounts racing for one email.
Each is a 4xx or a clean state, never a 500 or a leak."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.live import HttpUser, WebProcess
from tests.support import child_env, login, make_job, make_token, make_user
from webapp.auth.services import AccountError, create_user
from webapp.extensions import db
from webapp.models import User

HUGE = "9223372036854775807"
TRACEBACK = 'Traceback (most recent call last):\n  File "/srv/cutroom/webapp/tasks/demo.py"'


@pytest.mark.parametrize("path", ["/", "/projects", "/admin/audit", "/admin/users"])
def test_huge_page_numbers_show_an_empty_page(client, db_session, path):
    login(client, make_user(admin=True))
    response = client.get(f"{path}?page={HUGE}")
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("post", "/settings/tokens/99999999999/revoke"),
    ("get", "/projects/99999999999"),
    ("post", "/projects/99999999999/render"),
    ("get", "/api/v1/projects/99999999999"),
    ("patch", "/api/v1/users/99999999999"),
    ("post", "/admin/users/99999999999/limits"),
])
def test_ids_past_what_postgresql_holds_are_404(client, db_session, method, path):
    login(client, make_user(admin=True))
    assert getattr(client, method)(path).status_code == 404


def test_only_admins_see_tracebacks(app, db_session):
    owner, admin = make_user(), make_user(admin=True)
    job = make_job(owner, status="failed", error="RuntimeError: boom", error_code="exception",
                   traceback=TRACEBACK, attempt=1)
    for user, shown in ((owner, False), (admin, True)):
        client = app.test_client()
        login(client, user)
        body = client.get(f"/api/v1/jobs/{job.id}").get_json()
        assert (body["error"], body["error_code"]) == ("RuntimeError: boom", "exception")
        assert body["traceback"] == (TRACEBACK if shown else None)
        page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
        assert "Something went wrong in Countdown: boom" in page
        assert ("RuntimeError: boom" in page) is shown  # the error as recorded
        assert ("/srv/cutroom/webapp" in page) is shown


@pytest.mark.e2e
@pytest.mark.parametrize("proxies", [0, 1])
def test_forwarded_proto_is_believed_only_as_trusted_proxies_says(live_db, proxies):
    web = WebProcess(child_env(TRUSTED_PROXIES=str(proxies))).wait_ready()
    try:
        response = httpx.get(f"{web.url}/login", headers={"X-Forwarded-Proto": "https",
                                                           "X-Forwarded-For": "203.0.113.9"})
    finally:
        web.stop()
    https = bool(proxies)
    assert ("Strict-Transport-Security" in response.headers) is https
    assert ("secure" in response.headers["Set-Cookie"].lower()) is https


@pytest.mark.e2e
def test_redirects_never_name_the_host_the_request_gave(live_db):
    web = WebProcess(child_env()).wait_ready()
    try:
        with HttpUser(web.url) as browser:
            assert browser.sign_in(make_user().email).headers["Location"] == "/"
            for path, target in (("/rq", "/rq/"), ("/api/v1/tasks/", None), ("/", "/login")):
                response = browser.http.get(path, headers={"Host": "evil.example"})
                location = response.headers.get("Location")
                assert location is None or "evil.example" not in location, (path, location)
                if target and location:
                    assert location.startswith("/")
    finally:
        web.stop()


def test_range_headers_that_cannot_be_used_are_ignored(client, db_session, app):
    from webapp.storage import get_store

    user = make_user()
    get_store().put("edges/video.mp4", bytes(range(256)) * 40)
    job = make_job(user, task="assemble-video", status="finished",
                   result={"output": "edges", "files": {"video": "video.mp4"}})
    login(client, user)
    url = f"/jobs/{job.id}/files/video"

    def fetch(value):
        with client.get(url, headers={"Range": value}) as response:
            return response.status_code, len(response.get_data())

    for ignored in ("bytes=abc", "bytes=0-1,5-6", "items=0-5", "bytes=", "bytes=9-2"):
        assert fetch(ignored) == (200, 10240), ignored
    assert fetch("bytes=0-9") == (206, 10)
    assert fetch("bytes=999999-")[0] == 416  # one well-formed range outside the file


def test_theme_colours_are_stored_without_padding(client, db_session):
    headers = {"Authorization": f"Bearer {make_token(make_user())}"}
    created = client.post("/api/v1/projects", headers=headers, json={
        "title": "Padded", "topic": "Sea", "theme": {"accent": "  #FF0000 ",
                                                     "background": "\t#0a0B0c\n"}})
    assert created.status_code == 201
    theme = created.get_json()["theme"]
    assert (theme["accent"], theme["background"]) == ("#ff0000", "#0a0b0c")


def test_two_accounts_racing_for_one_email_end_in_one_account_and_a_clear_error(
        app, live_db):
    email = "race@example.com"
    barrier = threading.Barrier(4)

    def attempt(_):
        with app.app_context():
            barrier.wait()
            try:
                create_user(email, "correct horse battery")
                db.session.commit()
                return "created"
            except AccountError as exc:
                db.session.rollback()
                return str(exc)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    assert results.count("created") == 1
    assert all("already exists" in r for r in results if r != "created")
    assert User.query.filter_by(email=email).count() == 1
