"""The app as production runs it, for tests that attack it over real HTTP.

`WebProcess` starts the Procfile's `web` command (gunicorn, production mode, a real secret
key) on a free port; `HttpUser` is a cookie-keeping HTTP client that signs in through the
real form, CSRF token included, as a browser would.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support import PASSWORD, ROOT, wait_for

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def procfile_command(process: str) -> str:
    """The shell command of one Procfile process."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        if name.strip() == process:
            return command.strip()
    raise KeyError(process)


class WebProcess:
    """`web` from the Procfile against the test database and Redis, in production mode."""

    def __init__(self, env: dict[str, str], workers: int = 1, threads: int = 4):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**env, "CUTROOM_ENV": "production", "BIND": f"127.0.0.1:{self.port}",
               "WEB_CONCURRENCY": str(workers), "WEB_THREADS": str(threads)}
        env.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.log_path = Path(env.get("CUTROOM_TEST_LOG_DIR", "/tmp")) / f"web-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(["bash", "-c", procfile_command("web")], cwd=ROOT,
                                        env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def wait_ready(self, timeout: float = 30) -> WebProcess:
        def up():
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited early:\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=timeout, message="gunicorn to answer /healthz")
        return self

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-8000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


class HttpUser:
    """A browser-like client of a live server: keeps cookies, sends CSRF tokens."""

    def __init__(self, base_url: str, timeout: float = 20):
        # A new connection per request: gunicorn closes idle keep-alive connections after 2 s,
        # and a request racing that close fails with "server disconnected".
        self.http = httpx.Client(base_url=base_url, timeout=timeout, follow_redirects=False,
                                 limits=httpx.Limits(max_keepalive_connections=0))
        self.token: str | None = None

    def csrf(self, path: str = "/login") -> str:
        html = self.http.get(path).text
        match = CSRF_FIELD.search(html)
        assert match, f"no CSRF field on {path}"
        self.token = match.group(1)
        return self.token

    def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        """Sign in through the form; on success, keep the new session's CSRF token (signing
        in rotates it)."""
        token = self.csrf("/login")
        response = self.http.post("/login", data={"email": email, "password": password,
                                                  "csrf_token": token})
        if response.status_code == 303:
            self.csrf("/")
        return response

    def post(self, path: str, **kwargs) -> httpx.Response:
        """A form or JSON POST with this session's CSRF token in the header."""
        headers = {"X-CSRFToken": self.token or self.csrf("/"), **kwargs.pop("headers", {})}
        return self.http.post(path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HttpUser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def timed(call) -> tuple[float, object]:
    """(seconds, result) of call()."""
    start = time.monotonic()
    result = call()
    return time.monotonic() - start, result


def submit_at_once(web: WebProcess, token: str, count: int) -> list[httpx.Response]:
    """`count` countdown submits released together (a barrier), each on its own thread."""
    barrier = threading.Barrier(count)
    with httpx.Client(base_url=web.url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as api:
        def submit(_):
            barrier.wait()
            return api.post("/api/v1/tasks/countdown", json={"steps": 1})

        with ThreadPoolExecutor(count) as pool:
            return list(pool.map(submit, range(count)))
