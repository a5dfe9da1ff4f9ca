"""Sign-in throttling that an attacker who knows only the email cannot turn against its
owner: counted before the password check (parallel attempts cannot slip past), per
(account, address), per address, a per-account slowdown, a trusted-device cookie, and a 503
when Redis is down. Against gunicorn in production mode behind one trusted proxy
(tests/live.py), the addresses sent as X-Forwarded-For as a load balancer would.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.live import HttpUser, WebProcess
from tests.support import PASSWORD, child_env, make_user, wait_for
from tests.tcp_proxy import TcpProxy

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"
SLOWDOWN_AFTER = 8
SLOWDOWN_SECONDS = 20
# Wide enough to be generous on a loaded machine; small enough to show it is not a lockout.
THROTTLE = {"TRUSTED_PROXIES": "1", "LOGIN_SLOWDOWN_AFTER": f"{SLOWDOWN_AFTER} per 15 minutes",
            "LOGIN_SLOWDOWN": f"1 per {SLOWDOWN_SECONDS} seconds"}


@pytest.fixture(scope="module")
def web(services):
    """2 gunicorn workers x 8 threads, so parallel attempts really run in parallel."""
    process = WebProcess(child_env(**THROTTLE), workers=2, threads=8).wait_ready()
    yield process
    process.stop()


def _client(web: WebProcess, address: str) -> HttpUser:
    """A browser at `address`, with the sign-in form's CSRF token already read."""
    client = HttpUser(web.url)
    client.http.headers["X-Forwarded-For"] = address
    client.csrf("/login")
    return client


def _attempt(client: HttpUser, email: str, password: str = "not the password",
             **headers: str) -> httpx.Response:
    return client.http.post("/login", data={"email": email, "password": password,
                                            "csrf_token": client.token}, headers=headers)


def _in_parallel(clients: list[HttpUser], email: str) -> list[httpx.Response]:
    """One wrong-password attempt per client, all released at the same moment."""
    start = threading.Barrier(len(clients))

    def attempt(client):
        start.wait()
        return _attempt(client, email)

    with ThreadPoolExecutor(len(clients)) as pool:
        return list(pool.map(attempt, clients))


def _tally(codes: list[int]) -> str:
    return ", ".join(f"{codes.count(code)} x {code}" for code in sorted(set(codes)))


def _trusted_device(web: WebProcess, email: str) -> HttpUser:
    """The owner's browser, trusted for the account after one sign-in (then signed out)."""
    device = _client(web, OWNER)
    assert _attempt(device, email, PASSWORD).status_code == 303
    assert device.http.cookies.get("cutroom_device", path="/login")
    device.csrf("/")
    assert device.post("/logout", data={"csrf_token": device.token}).status_code == 303
    device.csrf("/login")
    return device


def test_sixteen_parallel_attempts_get_exactly_five_password_checks(web, live_db):
    owner = make_user()
    clients = [_client(web, ATTACKER) for _ in range(16)]
    try:
        responses = _in_parallel(clients, owner.email)
        codes = sorted(r.status_code for r in responses)
        assert codes == [401] * 5 + [429] * 11, _tally(codes)
        for refused in (r for r in responses if r.status_code == 429):
            assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
            assert "Too many sign-in attempts for this account from your network" in refused.text
        as_json = _attempt(clients[0], owner.email, PASSWORD, Accept="application/json")
        assert as_json.status_code == 429 and int(as_json.headers["Retry-After"]) > 0
        assert as_json.json()["error"]["code"] == "too_many_requests"
        # The attacker's pair is shut, even with the right password...
        assert _attempt(clients[1], owner.email, PASSWORD).status_code == 429
    finally:
        for client in clients:
            client.close()
    # ...but the owner, from anywhere else, gets straight in.
    with _client(web, OWNER) as elsewhere:
        assert _attempt(elsewhere, owner.email, PASSWORD).status_code == 303


def test_the_owners_trusted_device_gets_in_at_the_attackers_own_address(web, live_db):
    owner = make_user()
    device = _trusted_device(web, owner.email)
    clients = [_client(web, ATTACKER) for _ in range(16)]
    try:
        codes = sorted(r.status_code for r in _in_parallel(clients, owner.email))
        assert codes == [401] * 5 + [429] * 11, _tally(codes)
        device.http.headers["X-Forwarded-For"] = ATTACKER  # same café, same NAT
        assert _attempt(device, owner.email, PASSWORD).status_code == 303
    finally:
        for client in clients:
            client.close()
        device.close()


def test_an_attack_from_many_addresses_slows_the_account_down_but_locks_no_one_out(web,
                                                                                   live_db):
    owner = make_user()
    device = _trusted_device(web, owner.email)  # one attempt on the account so far
    clients = [_client(web, f"192.0.2.{i}") for i in range(1, 17)]
    try:
        responses = _in_parallel(clients, owner.email)
        codes = sorted(r.status_code for r in responses)
        # The attempts left before the slowdown (the owner's sign-in was one), plus the one
        # attempt the slowdown lets through per period.
        checked = (SLOWDOWN_AFTER - 1) + 1
        assert codes == [401] * checked + [429] * (16 - checked), _tally(codes)
        assert all("slowed down" in r.text for r in responses if r.status_code == 429)
        with _client(web, "192.0.2.200") as untrusted:
            slowed = _attempt(untrusted, owner.email, PASSWORD)
            assert slowed.status_code == 429 and "slowed down" in slowed.text
            wait = int(slowed.headers["Retry-After"])
            assert 0 < wait <= SLOWDOWN_SECONDS  # a slowdown, not a fifteen-minute lockout
            # The owner's trusted browser is not slowed at all.
            assert _attempt(device, owner.email, PASSWORD).status_code == 303
            time.sleep(wait + 0.5)  # what Retry-After said: then an untrusted browser may try
            assert _attempt(untrusted, owner.email, PASSWORD).status_code == 303
    finally:
        for client in clients:
            client.close()
        device.close()


def test_one_address_spraying_many_accounts_is_refused(web, live_db):
    with _client(web, ATTACKER) as sprayer:
        codes = [_attempt(sprayer, f"victim{i}@example.com").status_code for i in range(31)]
        assert codes == [401] * 30 + [429], codes
        refused = _attempt(sprayer, "someone@example.com")
        assert refused.status_code == 429 and "from your network" in refused.text
    owner = make_user()
    with _client(web, OWNER) as elsewhere:
        assert _attempt(elsewhere, owner.email, PASSWORD).status_code == 303


def test_a_forged_device_cookie_is_ignored(web, live_db):
    owner = make_user()
    with _client(web, ATTACKER) as attacker:
        attacker.http.cookies.set("cutroom_device", "eyJkIjoieCIsImEiOltdfQ.forged.sig",
                                  path="/login")
        codes = [_attempt(attacker, owner.email).status_code for _ in range(6)]
        assert codes == [401] * 5 + [429]


def _redis_through_proxy(redis_url: str) -> tuple[TcpProxy, str]:
    """A TCP proxy in front of the test Redis, and the URL that reaches Redis through it."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        proxy = TcpProxy(parts.path)
        database = parse_qs(parts.query).get("db", ["0"])[0]
    else:
        proxy = TcpProxy((parts.hostname, parts.port or 6379))
        database = parts.path.strip("/") or "0"
    return proxy, f"redis://127.0.0.1:{proxy.port}/{database}"


def test_redis_down_during_sign_in_is_a_clear_503(services, live_db):
    owner = make_user()
    proxy, url = _redis_through_proxy(services["REDIS_URL"])
    web = WebProcess(child_env(REDIS_URL=url)).wait_ready()
    try:
        with HttpUser(web.url) as browser:
            browser.csrf("/login")
            proxy.cut()
            down = _attempt(browser, owner.email, PASSWORD)
            assert down.status_code == 503, down.text
            assert "Sign-in is unavailable for a moment" in down.text
            assert '<form method="post"' in down.text  # the sign-in page, to try again from
            assert int(down.headers["Retry-After"]) > 0
            as_json = _attempt(browser, owner.email, PASSWORD, Accept="application/json")
            assert as_json.status_code == 503
            assert as_json.json()["error"]["code"] == "unavailable"
            assert browser.get("/").status_code == 303  # not signed in: nothing was checked
            proxy.restore()
            wait_for(lambda: _attempt(browser, owner.email, PASSWORD).status_code == 303,
                     timeout=30, interval=1, message="sign-in to work again once Redis is back")
    finally:
        web.stop()
        proxy.close()
