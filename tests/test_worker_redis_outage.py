"""Redis outages seen by a worker, idle and in the middle of a job: it rides them out.

The worker reaches Redis through a TCP proxy that first resets every connection (a crashed
or restarting server), then swallows everything (a hung server, a partition), then forwards
again. The test itself, like the web, talks to Redis directly.
"""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from rq.command import PUBSUB_CHANNEL_TEMPLATE
from rq.job import Job, JobStatus

from tests.support import WorkerProcess, child_env, job_row, login, make_user, wait_for
from tests.tcp_proxy import TcpProxy
from webapp.jobs.cli import make_worker

# Generous: these run real processes for tens of seconds, on a machine that may be busy.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

DOWN, BACK = "Redis unreachable", "Redis reachable again"


@pytest.fixture
def api(client, live_db):
    login(client, make_user())
    return client


def _through_proxy(redis_url: str) -> tuple[TcpProxy, str]:
    """A proxy in front of the test Redis, and the URL (same database) that goes through it."""
    parts = urlsplit(redis_url)
    if parts.scheme == "unix":
        proxy = TcpProxy(parts.path)
        db = parse_qs(parts.query).get("db", ["0"])[0]
    else:
        proxy = TcpProxy((parts.hostname, parts.port or 6379))
        db = parts.path.strip("/") or "0"
    auth = f"{parts.username or ''}:{parts.password}@" if parts.password else ""
    return proxy, f"redis://{auth}{proxy.address}/{db}"


@pytest.fixture
def proxied(app, redis, live_db, services):
    """(proxy, worker): a worker whose every Redis connection goes through the proxy."""
    proxy, url = _through_proxy(services["REDIS_URL"])
    worker = WorkerProcess(child_env(REDIS_URL=url, WORKER_HEARTBEAT_INTERVAL="1"))
    try:
        yield proxy, worker.wait_ready(redis)
    finally:
        worker.stop()
        proxy.close()


def _submit(api, task: str, **params) -> str:
    response = api.post(f"/api/v1/tasks/{task}", json=params)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def _until(job_id: str, *statuses: str, timeout: float = 30):
    return wait_for(lambda: job_row(job_id).status in statuses and job_row(job_id),
                    timeout=timeout, interval=0.25,
                    message=f"job {job_id} to be {' or '.join(statuses)}")


def _outage(proxy: TcpProxy, reset: float, hang: float) -> None:
    """Reset and refuse connections for `reset` s, then answer nothing for `hang` s."""
    proxy.cut()
    time.sleep(reset)
    proxy.blackhole()
    time.sleep(hang)
    proxy.restore()


def _log(worker: WorkerProcess) -> str:
    return worker.log_path.read_text(errors="replace")


def _assert_outages_logged_briefly(log: str, outages: int) -> None:
    """One line per outage and process (worker, scheduler, work-horse), no tracebacks."""
    assert "Traceback" not in log, log[-4000:]
    assert 1 <= log.count(DOWN) <= 3 * outages, log[-4000:]
    assert log.count(BACK) >= 1, log[-4000:]


def test_no_redis_call_of_a_worker_outlasts_its_timeout_and_rqs_dequeue_fits(app, monkeypatch):
    monkeypatch.setitem(app.config, "WORKER_REDIS_TIMEOUT", 25)
    with app.app_context():
        worker = make_worker(("default",))
    try:
        options = worker.connection.connection_pool.connection_kwargs
        assert options["socket_timeout"] == 25 and options["socket_connect_timeout"] == 5
        # RQ sizes its BLMOVE from this, 10 s below the socket timeout (pauses.py then waits
        # at most 1 s a try)
        assert worker.dequeue_timeout == 15
        assert worker.connection_timeout == 25  # so RQ left the socket timeout alone
        assert worker.outage.probe.connection_pool.connection_kwargs["socket_timeout"] <= 5
    finally:
        worker.connection.close()
        worker.outage.probe.close()


def test_an_idle_worker_rides_out_a_redis_outage(api, proxied, redis):
    proxy, worker = proxied
    assert _until(_submit(api, "trigger-test", message="before"), "finished").result
    _outage(proxy, reset=6, hang=6)
    assert worker.process.poll() is None, _log(worker)[-4000:]

    row = _until(_submit(api, "trigger-test", message="after"), "finished", timeout=60)
    assert row.result == {"message": "after"}
    log_of_the_outage = _log(worker)  # before the deliberate failure below logs its traceback
    # It still hears stop commands: its pubsub thread subscribed again.
    channel = PUBSUB_CHANNEL_TEMPLATE % worker.name
    wait_for(lambda: dict(redis.pubsub_numsub(channel)).get(channel.encode()) == 1,
             timeout=30, message="the worker to listen for commands again")
    long = _submit(api, "countdown", steps=60)
    _until(long, "started")
    assert api.post(f"/api/v1/jobs/{long}/cancel").status_code == 202
    assert _until(long, "stopped", "failed", "finished").status == "stopped"
    # Its scheduler still runs retry back-offs (1 s, then 2 s).
    retried = _until(_submit(api, "fail-test", succeed_on_attempt=2), "finished", timeout=60)
    assert (retried.attempt, retried.result) == (2, {"succeeded_on_attempt": 2})
    _assert_outages_logged_briefly(log_of_the_outage, outages=1)


def test_a_job_outlives_redis_outages_and_its_outcome_is_recorded(api, proxied, redis):
    proxy, worker = proxied
    # A job that ends while Redis is down: PostgreSQL has its outcome all the same...
    first = _submit(api, "countdown", steps=3)
    _until(first, "started")
    proxy.cut()
    row = _until(first, "finished", timeout=30)
    assert (row.result, row.attempt) == ({"steps": 3}, 1)
    proxy.blackhole()
    time.sleep(6)
    proxy.restore()
    # ...and RQ's record catches up once Redis is back.
    wait_for(lambda: Job.fetch(first, connection=redis).get_status() == JobStatus.FINISHED,
             timeout=60, message="RQ to record the job as finished")

    # A job that runs on through an outage and finishes after it.
    second = _submit(api, "countdown", steps=8)
    _until(second, "started", timeout=60)
    time.sleep(1)
    _outage(proxy, reset=3, hang=3)
    row = _until(second, "finished", timeout=60)
    assert (row.result, row.attempt) == ({"steps": 8}, 1)

    assert worker.process.poll() is None, _log(worker)[-4000:]
    third = _until(_submit(api, "trigger-test", message="next"), "finished", timeout=60)
    assert third.result == {"message": "next"}
    _assert_outages_logged_briefly(_log(worker), outages=2)
