"""PostgreSQL reset or blackholed under the running web process (gunicorn, production mode):
every page and API call answers a clear 503 with Retry-After within seconds, /healthz never
waits on it, /readyz says why, and everything works again once PostgreSQL is back."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import httpx
import pytest
from redis import Redis
from rq import Queue
from sqlalchemy.engine import make_url

from tests.live import HttpUser, WebProcess, timed
from tests.support import child_env, make_token, make_user, wait_for
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e

# Short limits, so the test takes seconds; production defaults are 5 s each.
FAST_TIMEOUTS = {"DATABASE_CONNECT_TIMEOUT": "2", "DATABASE_STATEMENT_TIMEOUT": "1",
                 "DATABASE_POOL_TIMEOUT": "2", "READY_TIMEOUT": "1"}
# connect (2 s) + one round trip (statement timeout + 2 s margin) + slack for a loaded machine
BOUND = 12.0


@pytest.fixture
def postgres_proxy(services):
    """A proxy in front of the test PostgreSQL, and the database URL through it."""
    url = make_url(services["DATABASE_URL"])
    host = url.query.get("host")
    upstream = f"{host}/.s.PGSQL.{url.port or 5432}" if host else (url.host, url.port or 5432)
    proxy = TcpProxy(upstream)
    through = url.set(host="127.0.0.1", port=proxy.port, query={})
    yield proxy, through.render_as_string(hide_password=False)
    proxy.close()


@pytest.fixture
def web(postgres_proxy, live_db):
    _, database_url = postgres_proxy
    process = WebProcess(child_env(DATABASE_URL=database_url, **FAST_TIMEOUTS),
                         workers=2, threads=4).wait_ready()
    yield process
    process.stop()


@pytest.fixture
def people(web):
    user = make_user()
    browser = HttpUser(web.url)
    assert browser.sign_in(user.email).status_code == 303
    api = httpx.Client(base_url=web.url, timeout=60,
                       headers={"Authorization": f"Bearer {make_token(user)}"})
    yield browser, api
    browser.close()
    api.close()


def _assert_unavailable_page(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["Retry-After"].isdigit()
    assert "Temporarily unavailable" in response.text
    assert "cannot reach its database" in response.text
    assert "Traceback" not in response.text and "werkzeug" not in response.text.lower()


def _assert_unavailable_json(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text[:500]
    assert response.headers["Retry-After"].isdigit()
    assert response.json()["error"]["code"] == "database_unavailable"


def test_postgres_resetting_connections_gives_503_and_loses_nothing(
        web, people, postgres_proxy, redis: Redis):
    proxy, _ = postgres_proxy
    browser, api = people
    assert browser.get("/").status_code == 200
    proxy.cut()

    _assert_unavailable_page(browser.get("/"))
    _assert_unavailable_page(browser.get("/projects"))
    _assert_unavailable_json(api.get("/api/v1/jobs"))
    _assert_unavailable_json(api.post("/api/v1/tasks/countdown", json={"steps": 1}))
    started = browser.post("/jobs", data={"task": "countdown", "steps": "1"})
    _assert_unavailable_page(started)
    # An error page of another kind (a stale form's CSRF error) needs PostgreSQL too: 503.
    token, browser.token = browser.token, "stale"
    _assert_unavailable_page(browser.post("/jobs", data={"task": "countdown", "steps": "1"}))
    browser.token = token
    signing_in = HttpUser(web.url)
    _assert_unavailable_page(signing_in.sign_in("someone@example.com"))
    signing_in.close()
    assert httpx.get(f"{web.url}/healthz", timeout=2).status_code == 200
    seconds, ready = timed(lambda: httpx.get(f"{web.url}/readyz", timeout=10))
    assert ready.status_code == 503 and seconds < 4
    assert ready.json()["checks"]["database"].startswith("unreachable")

    proxy.restore()
    wait_for(lambda: browser.get("/").status_code == 200, timeout=BOUND,
             message="pages to work again")
    assert httpx.get(f"{web.url}/readyz", timeout=5).status_code == 200
    # The submits refused during the outage left nothing behind: no row, no RQ job.
    assert api.get("/api/v1/jobs").json()["total"] == 0
    assert Queue("default", connection=redis).count == 0
    accepted = api.post("/api/v1/tasks/countdown", json={"steps": 1})
    assert accepted.status_code == 202


def test_postgres_blackholed_requests_end_in_bounded_time_and_healthz_answers(
        web, people, postgres_proxy):
    proxy, _ = postgres_proxy
    browser, api = people
    assert api.get("/api/v1/jobs").status_code == 200
    proxy.blackhole()

    # More requests than the web process has threads (2 x 4), all at once.
    with ThreadPoolExecutor(12) as pool:
        calls = [pool.submit(timed, lambda: api.get("/api/v1/jobs")) for _ in range(10)]
        time.sleep(0.5)
        health = pool.submit(timed, lambda: httpx.get(f"{web.url}/healthz", timeout=60))
        page = pool.submit(timed, lambda: browser.get("/"))
        results = [c.result() for c in calls]
    for seconds, response in results:
        _assert_unavailable_json(response)
        assert seconds < 2 * BOUND, f"a request took {seconds:.1f} s"
    health_seconds, health_response = health.result()
    assert health_response.status_code == 200 and health_seconds < 2 * BOUND
    _assert_unavailable_page(page.result()[1])

    # Once the stuck requests are answered, health checks are instant again while
    # PostgreSQL is still silent, and readiness fails within its own short timeout.
    seconds, response = timed(lambda: httpx.get(f"{web.url}/healthz", timeout=5))
    assert response.status_code == 200 and seconds < 1
    seconds, ready = timed(lambda: httpx.get(f"{web.url}/readyz", timeout=30))
    assert ready.status_code == 503 and seconds < 5

    proxy.restore()
    wait_for(lambda: api.get("/api/v1/jobs").status_code == 200, timeout=BOUND,
             message="the API to work again")
    assert browser.get("/").status_code == 200


def _redis_upstream(url: str) -> tuple[tuple[str, int] | str, int]:
    """(what a proxy should connect to, database number) of a redis:// or unix:// URL."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(q.split("=", 1) for q in parts.query.split("&") if "=" in q)
        return parts.path, int(query.get("db", 0))
    return (parts.hostname or "127.0.0.1", parts.port or 6379), int(parts.path.strip("/") or 0)


@pytest.fixture
def redis_proxy(services):
    upstream, number = _redis_upstream(services["REDIS_URL"])
    proxy = TcpProxy(upstream)
    yield proxy, f"redis://127.0.0.1:{proxy.port}/{number}"
    proxy.close()


def test_redis_down_gives_503_where_redis_is_needed_and_pages_still_work(redis_proxy, live_db):
    proxy, redis_url = redis_proxy
    web = WebProcess(child_env(REDIS_URL=redis_url, **FAST_TIMEOUTS)).wait_ready()
    user = make_user()
    api = httpx.Client(base_url=web.url, timeout=60,
                       headers={"Authorization": f"Bearer {make_token(user)}"})
    try:
        job = api.post("/api/v1/tasks/countdown", json={"steps": 5}).json()
        proxy.cut()
        assert api.get(f"/api/v1/jobs/{job['id']}").status_code == 200  # PostgreSQL answers
        # A waiting job is canceled in PostgreSQL, the record (a worker skips it later)...
        assert api.post(f"/api/v1/jobs/{job['id']}/cancel").json()["status"] == "canceled"
        # ...but nothing can be started without the queue.
        submitted = api.post("/api/v1/tasks/countdown", json={"steps": 1})
        assert submitted.status_code == 503, submitted.text
        assert submitted.json()["error"]["code"] == "queue_unavailable"
        assert submitted.headers["Retry-After"].isdigit()
        assert httpx.get(f"{web.url}/healthz", timeout=2).status_code == 200
        seconds, ready = timed(lambda: httpx.get(f"{web.url}/readyz", timeout=20))
        assert ready.status_code == 503 and seconds < 5
        assert ready.json()["checks"]["redis"].startswith("unreachable")
        proxy.restore()
        wait_for(lambda: httpx.get(f"{web.url}/readyz", timeout=5).status_code == 200,
                 timeout=BOUND, message="readiness once Redis is back")
        assert api.post("/api/v1/tasks/countdown", json={"steps": 1}).status_code == 202
    finally:
        api.close()
        web.stop()
