"""CSRF, sign-in throttling across processes, cookies, security headers, API token pages."""

import json
import re
import zlib

import pytest
from itsdangerous import base64_decode
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry

from tests.support import (
    PASSWORD,
    close_app,
    csrf_token,
    job_row,
    make_job,
    make_token,
    make_user,
    secure_login,
)
from webapp.models import ApiToken, BackgroundJob

HX = {"HX-Request": "true"}


@pytest.fixture
def browser(secure_app, db_session):
    """A test client of the app with CSRF checks on, as a browser would use it."""
    return secure_app.test_client()


def test_a_form_post_without_the_token_is_rejected(browser, user):
    token = secure_login(browser, user)
    refused = browser.post("/jobs", data={"task": "countdown", "steps": "2"})
    assert refused.status_code == 400
    assert "security token" in refused.get_data(as_text=True)
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 0
    accepted = browser.post("/jobs", data={"task": "countdown", "steps": "2",
                                           "csrf_token": token})
    assert accepted.status_code == 303
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 1


def test_an_htmx_post_needs_the_token_header(browser, user):
    token = secure_login(browser, user)
    job = make_job(user, status="queued")
    refused = browser.post(f"/jobs/{job.id}/cancel", headers=HX)
    assert refused.status_code == 400 and job_row(job.id).status == "queued"
    accepted = browser.post(f"/jobs/{job.id}/cancel", headers={**HX, "X-CSRFToken": token})
    assert accepted.status_code == 200 and job_row(job.id).status == "canceled"


def test_pages_hand_htmx_the_token(browser, user):
    token = secure_login(browser, user)
    html = browser.get("/").get_data(as_text=True)
    header = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', html).group(1)
    # The same session token (its first part), perhaps signed a second later.
    assert header.split(".")[0] == token.split(".")[0]
    forms = re.findall(r'<form[^>]*method="post"[^>]*>\s*<input type="hidden" '
                       r'name="csrf_token"', html)
    assert len(forms) == html.count('method="post"')


def test_sign_in_and_out_need_the_token_too(browser, user):
    refused = browser.post("/login", data={"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400
    token = secure_login(browser, user)
    assert browser.post("/logout").status_code == 400
    assert browser.post("/logout", data={"csrf_token": token}).status_code == 303


def test_bearer_api_calls_need_no_token_but_session_api_calls_do(browser, user):
    bearer = {"Authorization": f"Bearer {make_token(user)}"}
    assert browser.post("/api/v1/tasks/countdown", json={}, headers=bearer).status_code == 202
    token = secure_login(browser, user)
    refused = browser.post("/api/v1/tasks/countdown", json={})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf_failed"
    accepted = browser.post("/api/v1/tasks/countdown", json={}, headers={"X-CSRFToken": token})
    assert accepted.status_code == 202


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/tasks/countdown"), ("PATCH", "/api/v1/projects/1"),
    ("DELETE", "/api/v1/jobs/00000000-0000-0000-0000-000000000000")])
@pytest.mark.parametrize("cookie", [False, True], ids=["no cookie", "signed-out cookie"])
def test_an_api_call_without_credentials_is_unauthorized_before_any_csrf_check(
        browser, method, path, cookie):
    if cookie:
        csrf_token(browser)  # the sign-in page gives this browser a session cookie
    refused = browser.open(path, method=method, json={})
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="cutroom"'


def test_rq_dashboard_actions_need_the_token_and_requeue_becomes_a_retry(browser, redis):
    admin = make_user(admin=True)
    token = secure_login(browser, admin)
    page = browser.get("/rq/0/view/workers").get_data(as_text=True)
    icon = re.search(r'rel="shortcut icon" href="([^"]+)"', page).group(1)
    with browser.get(icon) as response:
        assert response.status_code == 200
    # The same session's token (its first part; the rest is a timestamp and a signature).
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', page).group(1)
    assert meta.split(".")[0] == token.split(".")[0]
    assert "/static/rq-csrf.js" in page
    failed = make_job(admin, status="failed", error="boom", attempt=1)
    rq_job = Job.create(print, id=str(failed.id), connection=redis, origin="default")
    rq_job.save()
    FailedJobRegistry("default", connection=redis).add(rq_job, exc_string="boom")
    assert browser.post(f"/rq/job/{failed.id}/requeue").status_code == 400
    assert browser.get("/rq/requeue/default").status_code == 405
    response = browser.post(f"/rq/job/{failed.id}/requeue", headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["status"] == "OK"
    row = job_row(failed.id)
    assert (row.status, row.attempt) == ("queued", 1)
    assert Job.fetch(str(failed.id), connection=redis).get_status() == JobStatus.QUEUED


def _fail_sign_in(client, email: str) -> int:
    token = csrf_token(client)
    return client.post("/login", data={"email": email, "password": "not the password",
                                       "csrf_token": token}).status_code


def test_the_sixth_attempt_from_one_address_is_refused_across_processes_for_that_pair_only(
        app, secure_app, db_session):
    from webapp import create_app

    user = make_user()
    # A second web process: its own app, sharing only Redis and PostgreSQL.
    other_process = create_app({"TESTING": True})
    first, second = secure_app.test_client(), other_process.test_client()
    try:
        assert [_fail_sign_in(first, user.email) for _ in range(3)] == [401] * 3
        assert [_fail_sign_in(second, user.email) for _ in range(2)] == [401] * 2
        token = csrf_token(first)
        blocked = first.post("/login", data={"email": user.email, "password": PASSWORD,
                                             "csrf_token": token})
        assert blocked.status_code == 429  # counted before the check: even the right password
        assert int(blocked.headers["Retry-After"]) > 0
        assert "Too many sign-in attempts for this account" in blocked.get_data(as_text=True)
        assert _fail_sign_in(second, user.email) == 429
        # Another account from the same address is not held up by this one...
        assert _fail_sign_in(first, make_user().email) == 401
        # ...nor is this account's owner at another address.
        elsewhere = secure_app.test_client()
        elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
        token = csrf_token(elsewhere)
        owner = elsewhere.post("/login", data={"email": user.email, "password": PASSWORD,
                                               "csrf_token": token})
        assert owner.status_code == 303
    finally:
        close_app(other_process)


def test_a_sign_in_trusts_the_browser_with_a_signed_device_cookie(browser, user):
    def device_cookie() -> tuple[object, dict]:
        cookie = browser.get_cookie("cutroom_device", path="/login")
        # itsdangerous compresses the payload (a leading ".") when that makes it shorter.
        compressed, payload = cookie.value.startswith("."), cookie.value.lstrip(".")
        data = base64_decode(payload.split(".")[0])
        return cookie, json.loads(zlib.decompress(data) if compressed else data)

    token = secure_login(browser, user)
    cookie, first = device_cookie()
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.expires is not None
    assert len(first["a"]) == 1 and user.email not in cookie.value  # a digest, not the email
    browser.post("/logout", data={"csrf_token": token})
    secure_login(browser, make_user())  # a second account on the same browser
    _, second = device_cookie()
    assert second["d"] == first["d"] and second["a"][0] == first["a"][0] and len(
        second["a"]) == 2


def test_failed_sign_ins_answer_json_to_json_clients(browser, user):
    token = csrf_token(browser)
    wrong = browser.post("/login", data={"email": user.email, "password": "nope",
                                         "csrf_token": token},
                         headers={"Accept": "application/json"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"] == {"code": "unauthorized",
                                         "message": "Wrong email or password."}


def test_one_address_is_throttled_across_accounts(db_session):
    from webapp import create_app

    strict = create_app({"TESTING": True, "LOGIN_LIMIT_ADDRESS": "4 per minute"})
    client = strict.test_client()
    try:
        codes = [_fail_sign_in(client, f"nobody{i}@example.com") for i in range(5)]
    finally:
        close_app(strict)
    assert codes == [401, 401, 401, 401, 429]


def test_cookies_are_httponly_samesite_and_secure_over_https(secure_app, db_session):
    def session_cookie(base_url: str) -> str:
        # The sign-in page stores a CSRF token in the session, so it sets the cookie.
        headers = secure_app.test_client().get("/login", base_url=base_url).headers
        return next(c for c in headers.get_all("Set-Cookie") if c.startswith("session="))

    https = session_cookie("https://localhost")
    assert "HttpOnly" in https and "SameSite=Lax" in https and "Secure" in https
    plain = session_cookie("http://localhost")
    assert "HttpOnly" in plain and "Secure" not in plain


def test_security_headers_on_pages_and_api(browser, user):
    headers = browser.get("/login").headers
    assert headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self';")
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in headers
    over_https = browser.get("/login", base_url="https://localhost").headers
    assert over_https["Strict-Transport-Security"].startswith("max-age=")
    assert browser.get("/api/v1/tasks").headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_of_ours_has_an_inline_script(browser, user):
    pages = [browser.get("/login").get_data(as_text=True)]
    secure_login(browser, user)
    pages += [browser.get(path).get_data(as_text=True)
              for path in ("/", "/projects", "/settings/tokens")]
    for path, html in zip(("/login", "/", "/projects", "/settings/tokens"), pages, strict=True):
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts and all("src=" in tag for tag in scripts), (path, scripts)
        assert " style=" not in html and " onclick=" not in html


def test_tokens_page_shows_a_new_token_once_and_revokes(browser, user):
    token = secure_login(browser, user)
    created = browser.post("/settings/tokens", data={"name": "ci", "csrf_token": token})
    assert created.status_code == 201
    secret = re.search(r"crt_[A-Za-z0-9_-]+", created.get_data(as_text=True)).group(0)
    later = browser.get("/settings/tokens").get_data(as_text=True)
    assert secret not in later and secret[:12] in later and "ci" in later
    api = {"Authorization": f"Bearer {secret}"}
    assert browser.get("/api/v1/jobs", headers=api).status_code == 200
    row = ApiToken.query.filter_by(user_id=user.id, name="ci").one()
    assert row.last_used_at is not None
    revoked = browser.post(f"/settings/tokens/{row.id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert browser.get("/api/v1/jobs", headers=api).status_code == 401
    bad = browser.post("/settings/tokens", data={"name": "", "csrf_token": token})
    assert bad.status_code == 422 and "1 to 100 characters" in bad.get_data(as_text=True)


def test_someone_elses_token_cannot_be_revoked(browser, user):
    make_token(make_user(), "theirs")
    theirs = ApiToken.query.filter_by(name="theirs").one()
    token = secure_login(browser, user)
    response = browser.post(f"/settings/tokens/{theirs.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 404 and theirs.revoked_at is None


def test_cli_lists_and_revokes_tokens(runner, user):
    make_token(user, "deploy")
    listed = runner.invoke(args=["tokens", "list", user.email])
    assert "deploy" in listed.output and "active" in listed.output
    token_id = listed.output.split("\t")[0]
    revoked = runner.invoke(args=["tokens", "revoke", user.email, token_id])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(args=["tokens", "list", user.email]).output
