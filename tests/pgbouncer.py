"""A PgBouncer of the tests' own, in transaction mode, in front of the test PostgreSQL.

It runs Debian's `pgbouncer` binary (`.ci/run` installs the package) with a generated ini
in a temporary directory, on a free 127.0.0.1 port, logging in to PostgreSQL as a role of
its own, so that PostgreSQL's side of the count (pg_stat_activity) sees only its server
connections. `Watch` samples both sides while a test runs: the point of the pooler is that
many client connections share a couple of server connections.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import threading
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from sqlalchemy.engine import make_url

from tests.live import free_port
from tests.support import wait_for

BINARY = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
ROLE = "cutroom_pooled"  # PgBouncer's role on PostgreSQL (cluster-wide, hence the pid)
SERVER_STATES = ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")


def available() -> bool:
    return os.access(BINARY, os.X_OK)


class PgBouncer:
    """PgBouncer, pool_mode=transaction, `pool_size` server connections per database."""

    def __init__(self, database_url: str, admin_url: str, directory: Path,
                 databases: list[str], pool_size: int = 2):
        self.upstream = make_url(database_url)
        self.admin_url = admin_url
        self.directory = directory
        self.role = f"{ROLE}_{os.getpid()}"
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self._create_role()
        ini = directory / "pgbouncer.ini"
        ini.write_text(self._ini(databases, pool_size))
        self.log_path = directory / "pgbouncer.log"
        self.process = subprocess.Popen([BINARY, *self._as_user(), str(ini)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout=15, message="pgbouncer to accept connections")

    # --- setting up ----------------------------------------------------------------------

    def _create_role(self) -> None:
        password = self.upstream.password
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.role)))
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN SUPERUSER PASSWORD {}").format(
                sql.Identifier(self.role), sql.Literal(password)))

    def _ini(self, databases: list[str], pool_size: int) -> str:
        url = self.upstream
        host = url.query.get("host") or url.host or "127.0.0.1"
        server = f"host={host} port={url.port or 5432} user={self.role}"
        if url.password:
            server += f" password={url.password}"
        lines = ["[databases]", *(f"{name} = {server} dbname={name}" for name in databases),
                 "[pgbouncer]",
                 "listen_addr = 127.0.0.1", f"listen_port = {self.port}",
                 "unix_socket_dir =",
                 # Clients are not authenticated; every pool logs in as the role above.
                 "auth_type = any", "admin_users = pgbouncer",
                 "pool_mode = transaction", f"default_pool_size = {pool_size}",
                 "min_pool_size = 0", "reserve_pool_size = 0", "max_client_conn = 500",
                 # A client that keeps a server connection (a transaction left open) makes
                 # the others fail within seconds, instead of waiting two minutes.
                 "query_wait_timeout = 15",
                 f"logfile = {self.directory / 'pgbouncer.log'}",
                 f"pidfile = {self.directory / 'pgbouncer.pid'}"]
        return "\n".join(lines) + "\n"

    def _as_user(self) -> list[str]:
        """PgBouncer refuses to run as root: as root, run as the owner of PostgreSQL's socket
        directory (the embedded server's), or nobody."""
        if os.geteuid() != 0:
            return []
        host = self.upstream.query.get("host")
        user = Path(host).owner() if host and Path(host).is_dir() else "nobody"
        uid = pwd.getpwnam(user).pw_uid
        os.chown(self.directory, uid, -1)
        for path in self.directory.iterdir():
            os.chown(path, uid, -1)
        return ["-u", user]

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"pgbouncer exited early:\n{self.log()}")
        try:
            self.show("VERSION")
        except psycopg.OperationalError:
            return False
        return True

    # --- using it ------------------------------------------------------------------------

    def url_for(self, database: str) -> str:
        """A DATABASE_URL for `database` through PgBouncer."""
        return f"postgresql://cutroom@127.0.0.1:{self.port}/{database}"

    def show(self, what: str) -> list[dict]:
        """A SHOW command on PgBouncer's admin console (POOLS, SERVERS, STATS...)."""
        with psycopg.connect(f"postgresql://pgbouncer@127.0.0.1:{self.port}/pgbouncer",
                             autocommit=True, connect_timeout=2, row_factory=dict_row) as conn:
            return conn.execute(f"SHOW {what}").fetchall()

    def pool(self, database: str) -> dict:
        """The database's row of SHOW POOLS (all zeros before its first client)."""
        return self._row("POOLS", database)

    def servers(self, database: str) -> list[dict]:
        return [s for s in self.show("SERVERS") if s["database"] == database]

    def stats(self, database: str) -> dict:
        """The database's row of SHOW STATS (totals since PgBouncer started)."""
        return self._row("STATS", database)

    def _row(self, what: str, database: str) -> dict:
        rows = self.show(what)
        found = next((r for r in rows if r["database"] == database), None)
        return found or dict.fromkeys(rows[0], 0)

    def backends(self) -> int:
        """Connections PostgreSQL has from PgBouncer (its role), as PostgreSQL counts them."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                                (self.role,)).fetchone()[0]

    def open_transactions(self) -> list[tuple[str, str]]:
        """(state, last query) of PgBouncer's server connections inside a transaction."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return conn.execute(
                "SELECT state, query FROM pg_stat_activity WHERE usename = %s"
                " AND xact_start IS NOT NULL", (self.role,)).fetchall()

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-5000:]
        except FileNotFoundError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(self.role)))


class Watch:
    """Samples, in a thread, the server connections of one database on both sides of
    PgBouncer and the clients it serves, keeping the peaks."""

    def __init__(self, bouncer: PgBouncer, database: str, interval: float = 0.1):
        self.bouncer, self.database, self.interval = bouncer, database, interval
        self.peak_servers = self.peak_backends = self.peak_clients = 0
        self.backend_pids: set[int] = set()
        self.samples = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except psycopg.Error as exc:  # kept for the test's failure message
                self.errors.append(repr(exc))
            time.sleep(self.interval)

    def _sample(self) -> None:
        pool = self.bouncer.pool(self.database)
        self.peak_servers = max(self.peak_servers, sum(pool[s] for s in SERVER_STATES))
        self.peak_clients = max(self.peak_clients, pool["cl_active"] + pool["cl_waiting"])
        self.backend_pids |= {s["remote_pid"] for s in self.bouncer.servers(self.database)}
        self.peak_backends = max(self.peak_backends, self.bouncer.backends())
        self.samples += 1
