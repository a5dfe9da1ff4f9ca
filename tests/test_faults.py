"""Faults injected into real processes: every job must still end in a true final state.

Workers run with 1-second heartbeats and the reconciler with short thresholds, so each test
takes seconds. The reconciler runs in the test process (`run_pass`), as its Procfile
process would.
"""

import dataclasses
import os
import signal
import time

import psutil
import pytest
from rq.exceptions import AbandonedJobError
from rq.job import Job, JobStatus
from sqlalchemy.engine import make_url

from tests.support import WorkerProcess, child_env, job_row, login, make_user, wait_for
from tests.tcp_proxy import TcpProxy
from webapp.jobs import callbacks, pending_outcomes, reconcile, registry

pytestmark = pytest.mark.e2e

FAST = {"WORKER_HEARTBEAT_INTERVAL": "1"}


@pytest.fixture
def api(client, live_db):
    login(client, make_user())
    return client


@pytest.fixture
def fast_reconciler(app, monkeypatch):
    """Reconciler thresholds of a second or two instead of minutes."""
    for key, value in {"HEARTBEAT_GRACE": 2.5, "RECOVER_AFTER": 0.0,
                       "CANCEL_CONFIRM_TIMEOUT": 2.0}.items():
        monkeypatch.setitem(app.config, key, value)


@pytest.fixture
def workers(app, redis, live_db):
    started = []

    def start(**env):
        worker = WorkerProcess(child_env(**{**FAST, **env})).wait_ready(redis)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _submit(api, task, headers=None, **params) -> str:
    response = api.post(f"/api/v1/tasks/{task}", json=params, headers=headers or {})
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def _until(job_id, *statuses, timeout=20, reconcile_too=False):
    def check():
        if reconcile_too:
            reconcile.run_pass()
        row = job_row(job_id)
        return row.status in statuses and row

    return wait_for(check, timeout=timeout, interval=0.25,
                    message=f"job {job_id} to be {' or '.join(statuses)}")


def _kill_worker(worker: WorkerProcess) -> list[int]:
    """SIGKILL the worker process alone; returns the pids of its horses at that moment."""
    horses = worker.horse_pids()
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait(timeout=10)
    return horses


def test_a_killed_worker_takes_its_horse_along_and_the_job_ends_abandoned(
        api, workers, fast_reconciler, redis):
    worker = workers()
    job_id = _submit(api, "countdown", steps=60)
    _until(job_id, "started")
    (horse,) = wait_for(worker.horse_pids, message="the work-horse")
    _kill_worker(worker)
    # The horse dies with its worker (PR_SET_PDEATHSIG): no orphan keeps working unseen.
    wait_for(lambda: not psutil.pid_exists(horse) or
             psutil.Process(horse).status() == psutil.STATUS_ZOMBIE, timeout=5,
             message="the orphaned horse to die")
    row = _until(job_id, "failed", reconcile_too=True)
    assert row.error_code == "abandoned" and worker.name in row.error
    assert reconcile.counters()["abandoned_failed"] >= 1
    assert Job.fetch(job_id, connection=redis).get_status() == JobStatus.FAILED


def test_a_killed_worker_job_with_retries_left_finishes_on_another_worker(
        api, workers, fast_reconciler):
    first = workers()
    job_id = _submit(api, "fail-test", pause=3, succeed_on_attempt=2)
    _until(job_id, "started")
    wait_for(first.horse_pids, message="the work-horse")
    _kill_worker(first)
    row = _until(job_id, "queued", "scheduled", reconcile_too=True)
    assert (row.error_code, row.attempt) == ("abandoned", 1)
    second = workers()
    row = _until(job_id, "finished", timeout=30)
    assert (row.attempt, row.worker_name, row.result) == (
        2, second.name, {"succeeded_on_attempt": 2})


def test_a_killed_horse_with_retries_left_is_retried(api, workers):
    worker = workers()
    job_id = _submit(api, "fail-test", pause=3, succeed_on_attempt=2)
    _until(job_id, "started")
    (horse,) = wait_for(worker.horse_pids, message="the work-horse")
    os.kill(horse, signal.SIGKILL)
    row = _until(job_id, "scheduled", "queued")
    assert (row.error_code, row.attempt) == ("killed", 1)
    row = _until(job_id, "finished", timeout=30)
    assert (row.attempt, row.result) == (2, {"succeeded_on_attempt": 2})


def _upstream(services):
    url = make_url(services["DATABASE_URL"])
    host = url.query.get("host")
    return (f"{host}/.s.PGSQL.{url.port or 5432}" if host else (url.host, url.port or 5432)), url


def test_postgres_unreachable_while_a_job_finishes(api, app, redis, live_db, services):
    upstream, url = _upstream(services)
    proxy = TcpProxy(upstream)
    through_proxy = url.set(host="127.0.0.1", port=proxy.port, query={})
    worker = WorkerProcess(child_env(DATABASE_URL=through_proxy.render_as_string(
        hide_password=False), **FAST)).wait_ready(redis)
    try:
        job_id = _submit(api, "countdown", steps=3)
        _until(job_id, "started")
        proxy.cut()
        wait_for(lambda: pending_outcomes.pending() > 0, timeout=20,
                 message="the outcome to be queued in Redis")
        assert job_row(job_id).status == "started"  # PostgreSQL never heard of the end
        assert Job.fetch(job_id, connection=redis).get_status() == JobStatus.FINISHED
        proxy.restore()
        repairs = reconcile.run_pass()
        assert repairs["outcome_applied"] >= 1
        row = job_row(job_id)
        assert (row.status, row.result, row.attempt) == ("finished", {"steps": 3}, 1)
        time.sleep(1.5)  # the job is not run a second time
        assert job_row(job_id).attempt == 1
    finally:
        worker.stop()
        proxy.close()


def test_redis_flushed_while_jobs_wait_and_run(api, app, workers, redis, fast_reconciler,
                                               monkeypatch):
    monkeypatch.setitem(app.config, "USER_MAX_RUNNING", 10)  # every job in Redis, none held
    worker = workers()
    running = _submit(api, "countdown", steps=3)
    _until(running, "started")
    waiting = [_submit(api, "trigger-test", message=f"m{i}") for i in range(2)]
    # One task that is not safe to run twice: Redis losing it must fail it as lost.
    fragile = dataclasses.replace(registry.get_task("fail-test"), idempotent=False)
    monkeypatch.setitem(registry._TASKS, "fail-test", fragile)
    unsafe = _submit(api, "fail-test", pause=0, succeed_on_attempt=1)
    redis.flushdb()
    assert _until(running, "finished").result == {"steps": 3}
    for job_id in waiting:
        assert _until(job_id, "finished", reconcile_too=True).result["message"].startswith("m")
    row = _until(unsafe, "failed", "finished", reconcile_too=True)
    assert row.status == "failed" and row.error_code == "lost"
    assert worker.process.poll() is None


def test_redis_restarted_empty_while_a_job_runs(api, app, workers, services, redis,
                                                fast_reconciler):
    server = services.get("redis_server")
    if server is None:
        pytest.skip("REDIS_URL points at a server this test cannot restart")
    workers()
    running = _submit(api, "countdown", steps=4)
    _until(running, "started")
    queued = _submit(api, "trigger-test", message="after the restart")
    server.restart()
    assert _until(running, "finished", timeout=30).result == {"steps": 4}
    assert _until(queued, "finished", timeout=30, reconcile_too=True).result == {
        "message": "after the restart"}


def test_late_failure_callbacks_never_overwrite_a_success(api, app, workers, redis):
    workers()
    job_id = _submit(api, "trigger-test", message="kept")
    _until(job_id, "finished")
    rq_job = Job.fetch(job_id, connection=redis)
    # RQ's abandoned-job sweep, and an earlier attempt's failure, arriving late:
    callbacks.on_failure(rq_job, redis, AbandonedJobError, AbandonedJobError(), None)
    callbacks.on_failure(rq_job, redis, RuntimeError, RuntimeError("attempt 1"), None)
    callbacks.on_stopped(rq_job, redis)
    row = job_row(job_id)
    assert (row.status, row.result, row.error) == ("finished", {"message": "kept"}, None)


def test_a_stop_request_whose_worker_died_is_settled_as_stopped(api, workers,
                                                                 fast_reconciler, redis):
    worker = workers()
    job_id = _submit(api, "countdown", steps=60)
    _until(job_id, "started")
    wait_for(worker.horse_pids, message="the work-horse")
    worker.process.send_signal(signal.SIGSTOP)  # deaf to the stop command...
    assert api.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 202
    _kill_worker(worker)  # ...and then gone for good
    row = _until(job_id, "stopped", timeout=30, reconcile_too=True)
    assert row.ended_at is not None and reconcile.counters()["stop_settled"] == 1
    assert Job.fetch(job_id, connection=redis).get_status() == JobStatus.STOPPED


def test_a_lost_stop_request_is_sent_again_to_a_live_worker(api, app, workers,
                                                            fast_reconciler):
    from webapp.extensions import db
    from webapp.jobs import transitions

    workers()
    job_id = _submit(api, "countdown", steps=60)
    _until(job_id, "started")
    # As if the stop command had reached the worker before it registered the job:
    transitions.request_stop(job_id)
    db.session.commit()
    row = _until(job_id, "stopped", timeout=30, reconcile_too=True)
    assert reconcile.counters()["stop_resent"] >= 1 and row.progress < 100


def test_a_timeout_that_fires_inside_a_progress_write_still_ends_the_job(api, app, workers,
                                                                         monkeypatch):
    """The alarm is one shot: landing inside the progress write (which swallows its own
    errors, so that a task never fails for want of a progress bar) it must still end the job,
    not be lost and let the job run on to the end."""
    from sqlalchemy import text

    from webapp.extensions import db

    monkeypatch.setitem(app.config, "TASK_TIMEOUTS", {"countdown": 2})
    workers()
    job_id = _submit(api, "countdown", steps=10)
    started = _until(job_id, "started").started_at
    # Hold the row: the next progress write (each second) waits, and the alarm fires in it.
    with db.engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT 1 FROM background_jobs WHERE id = :id FOR UPDATE"),
                           {"id": job_id})
        time.sleep(4)
    row = _until(job_id, "failed", "finished", timeout=30)
    assert (row.status, row.error_code) == ("failed", "timeout"), (row.status, row.error)
    assert "time limit of 2 seconds" in row.error
    assert (row.ended_at - started).total_seconds() < 9  # not the countdown's full 10 s
