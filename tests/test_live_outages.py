"""The page's poll when Redis or PostgreSQL is unreachable under the running web process
(gunicorn as the Procfile runs it, production mode): without Redis every poll takes the
full path and still answers right; without PostgreSQL a poll that needs it answers 503
and leaves the page as it is, as every fragment does (webapp/outages.py)."""

from __future__ import annotations

from html import unescape
from urllib.parse import parse_qsl, urlencode

import pytest

from tests.live import HttpUser, WebProcess
from tests.support import child_env, make_job, make_user, wait_for
from tests.test_live import poller, states
from tests.test_outages import FAST_TIMEOUTS, postgres_proxy, redis_proxy  # noqa: F401
from webapp.extensions import db
from webapp.jobs import transitions

pytestmark = pytest.mark.e2e


class LivePage:
    """A home page over real HTTP, polled as its poller does."""

    def __init__(self, browser: HttpUser):
        self.browser = browser
        html = browser.get("/").text
        self.url = poller(html)
        self.inputs = dict(states(html))

    def poll(self):
        path, _, query = self.url.partition("?")
        args = parse_qsl(query, keep_blank_values=True) + list(self.inputs.items())
        response = self.browser.get(f"{path}?{urlencode(args)}", headers={
            "HX-Request": "true", "HX-Current-URL": f"{self.browser.http.base_url}/"})
        if response.status_code == 200 and 'id="live-poll"' in response.text:
            self.url = unescape(poller(response.text) or "")
        return response


def _signed_in(web: WebProcess, user) -> HttpUser:
    browser = HttpUser(web.url)
    assert browser.sign_in(user.email).status_code == 303
    return browser


def test_without_redis_polls_take_the_full_path_and_answer_right(redis_proxy, live_db):  # noqa: F811
    proxy, redis_url = redis_proxy
    web = WebProcess(child_env(REDIS_URL=redis_url, **FAST_TIMEOUTS)).wait_ready()
    user = make_user()
    job = make_job(user, status="started")
    try:
        with _signed_in(web, user) as browser:
            page = LivePage(browser)
            assert page.poll().status_code == 204
            proxy.cut()
            first = page.poll()  # no tokens to compare: the validator becomes "ask me"
            assert first.status_code == 200 and "job-card" not in first.text
            assert page.url == "/live?v="
            assert page.poll().status_code == 204  # nothing changed: PostgreSQL said so
            assert transitions.record_progress(job.id, 66, "Seen without Redis")
            db.session.commit()
            changed = page.poll()
            assert changed.status_code == 200 and "Seen without Redis" in changed.text
            proxy.restore()
            wait_for(lambda: page.poll().status_code == 204, timeout=15,
                     message="polls answered again once Redis is back")
    finally:
        web.stop()


def test_without_postgresql_a_poll_that_needs_it_is_503_and_keeps_the_page(
        postgres_proxy, live_db):  # noqa: F811
    proxy, database_url = postgres_proxy
    web = WebProcess(child_env(DATABASE_URL=database_url, **FAST_TIMEOUTS)).wait_ready()
    user = make_user()
    make_job(user, status="started")
    try:
        with _signed_in(web, user) as browser:
            page = LivePage(browser)
            assert page.poll().status_code == 204
            proxy.cut()
            assert page.poll().status_code == 204  # nothing changed, and nothing can
            page.url = "/live?v="  # a validator the server cannot vouch for without it
            refused = page.poll()
            assert refused.status_code == 503, refused.text
            assert refused.headers["HX-Reswap"] == "none"
            assert refused.headers["Retry-After"].isdigit()
            assert "job-card" not in refused.text
            proxy.restore()
            wait_for(lambda: page.poll().status_code in (200, 204), timeout=15,
                     message="polls answered again once PostgreSQL is back")
    finally:
        web.stop()
