"""The whole app on throwaway data, as `make dev` runs it (migrations, then the Procfile's
web, worker and reconciler): an embedded PostgreSQL and Redis in a temporary directory, or,
when DATABASE_URL / REDIS_URL are set (in the environment or .env), a new database on that
PostgreSQL server (dropped afterwards) and Redis database 12 of that server (flushed before
and after). Media stays in the temporary directory whatever MEDIA_STORAGE says. Everything it
started stops at the end, after a failure or Ctrl+C too. tests/screenshots.py uses it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from dotenv import dotenv_values
from psycopg import sql
from redis import Redis
from sqlalchemy.engine import make_url

from webapp.config import ROOT, normalize_database_url
from webapp.dev import PROCESSES, STOP_TIMEOUT, WORKER_STOP_MARGIN
from webapp.devservices import ensure_database, start_postgres, start_redis
from webapp.devsupervisor import Supervisor, read_procfile

# The Redis database used on a configured server (the test processes use 9 to 11).
REDIS_DB = 12
WORKER_GRACE = 3  # seconds, as `make dev` gives a running job when it stops
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Failure(Exception):
    """Something the person running the script can act on."""


# --- The app, in a temporary directory ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settings() -> dict[str, str]:
    """The environment, over .env (as `make dev` and the app read them)."""
    from_file = {k: v for k, v in dotenv_values(ROOT / ".env").items() if v is not None}
    return {**from_file, **os.environ}


def _fresh_database(stack: contextlib.ExitStack, base: Path, configured: str | None) -> str:
    """A new, empty database: on the configured server (dropped at the end), or on an
    embedded one in `base`."""
    if not configured:
        postgres = start_postgres(base / "postgres")
        stack.callback(postgres.stop)
        ensure_database(postgres.admin_url, "cutroom")
        return postgres.url_for("cutroom")
    url = make_url(normalize_database_url(configured)).set(drivername="postgresql")
    admin = url.set(database="postgres").render_as_string(hide_password=False)
    name = f"cutroom_screenshots_{secrets.token_hex(4)}"
    try:
        ensure_database(admin, name)
    except psycopg.Error as exc:
        raise Failure(f"Could not create the database {name} on the DATABASE_URL server "
                      f"(it needs CREATEDB): {exc}") from exc
    stack.callback(_drop_database, admin, name)
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


def _fresh_redis(stack: contextlib.ExitStack, base: Path, configured: str | None) -> str:
    """An empty Redis: database REDIS_DB of the configured server (flushed before and
    after), or an embedded one in `base`."""
    if not configured:
        server = start_redis(base / "redis", persistent=False)
        stack.callback(server.stop)
        return server.url
    url = _with_redis_db(configured, REDIS_DB)
    Redis.from_url(url).flushdb()
    stack.callback(lambda: Redis.from_url(url).flushdb())
    return url


def _with_redis_db(url: str, number: int) -> str:
    if url.startswith("unix://"):
        base, _, query = url.partition("?")
        kept = [part for part in query.split("&") if part and not part.startswith("db=")]
        return f"{base}?{'&'.join([*kept, f'db={number}'])}"
    base, _, query = url.partition("?")
    scheme, _, rest = base.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}/{number}" + (f"?{query}" if query else "")


class Cutroom:
    """The whole app as `make dev` runs it, on fresh data in a temporary directory."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="cutroom-shots-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.base / "processes.log"
        self.env: dict[str, str] = {}
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Cutroom:
        self._stack.callback(shutil.rmtree, self.base, ignore_errors=True)
        try:
            self._start()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is not None and not issubclass(kind, KeyboardInterrupt):
            print(f"The app's last lines (web, worker, reconciler):\n{self.log_tail()}",
                  file=sys.stderr)
        # Another Ctrl+C must not cut the stop short and leave servers running.
        previous = {sig: signal.signal(sig, _still_stopping) for sig in STOP_SIGNALS}
        try:
            self._stack.close()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _start(self) -> None:
        settings = _settings()
        sentinels = bool(settings.get("REDIS_SENTINELS"))
        self.env = {
            **settings, "PATH": os.pathsep.join([str(Path(sys.executable).parent),
                                                 settings.get("PATH", "")]),
            "CUTROOM_ENV": "development", "BIND": f"127.0.0.1:{self.port}",
            "CUTROOM_URL": self.url,
            "DATABASE_URL": _fresh_database(self._stack, self.base, settings.get("DATABASE_URL")),
            "REDIS_URL": _fresh_redis(self._stack, self.base,
                                      None if sentinels else settings.get("REDIS_URL")),
            # Empty, not absent: the app would read them from .env otherwise.
            "REDIS_SENTINELS": "", "REDIS_SENTINEL_MASTER": "",
            "MEDIA_STORAGE": "local", "MEDIA_ROOT": str(self.base / "media"),
            "WORKER_SHUTDOWN_GRACE": str(WORKER_GRACE), "PYTHONUNBUFFERED": "1",
        }
        log = self._stack.enter_context(self.log_path.open("w"))
        self.flask("db", "upgrade")
        procfile = read_procfile(ROOT / "Procfile")
        supervisor = Supervisor(self.env, ROOT, out=log)
        self._stack.callback(_stop_processes, supervisor)
        supervisor.start({name: procfile[name] for name in PROCESSES})
        self._wait_ready(supervisor)

    def _wait_ready(self, supervisor: Supervisor, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ended = [c.name for c in supervisor.children.values() if c.process.poll() is not None]
            if ended:
                raise Failure(f"{', '.join(ended)} exited while starting")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise Failure(f"The web process did not answer {self.url}/readyz in {timeout} s")
            time.sleep(0.2)

    def flask(self, *args: str) -> str:
        """Run `flask --app wsgi ARGS` against this instance; its output."""
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args],
                              env=self.env, cwd=ROOT, capture_output=True, text=True,
                              start_new_session=True)
        if done.returncode != 0:
            raise Failure(f"`flask {' '.join(args[:2])}` failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(none)"


def _still_stopping(signum: int, frame: object) -> None:
    os.write(sys.stderr.fileno(), b"Still stopping what was started; it will not be long.\n")


def _stop_processes(supervisor: Supervisor) -> None:
    """As `make dev` stops: the worker first (its job goes back to the queue), then the rest."""
    workers = [name for name in PROCESSES if name.startswith("worker")]
    supervisor.stop(workers, WORKER_GRACE + WORKER_STOP_MARGIN)
    supervisor.stop([name for name in PROCESSES if name not in workers], STOP_TIMEOUT)
