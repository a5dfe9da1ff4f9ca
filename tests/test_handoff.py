"""Outcomes a work-horse hands to its worker process (webapp/jobs/handoff.py), and the
light worker: real workers, Redis and PostgreSQL, faults injected by SIGKILL.

The kills come right after the horse has put its outcome in Redis, from a sitecustomize
module the child processes load (tests/handoff_hook), so they land at that exact moment.
"""

import os
import signal

import pytest
from rq import Worker
from sqlalchemy import text

from tests.support import ROOT, WorkerProcess, child_env, job_row, login, make_user, wait_for
from webapp.extensions import db
from webapp.jobs import handoff, reconcile

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

FAST = {"WORKER_HEARTBEAT_INTERVAL": "1"}
HOOK = str(ROOT / "tests" / "handoff_hook")


@pytest.fixture
def api(client, live_db):
    login(client, make_user(max_running_jobs=1000, max_waiting_jobs=1000,
                            submit_rate="10000 per minute"))
    return client


@pytest.fixture
def workers(app, redis, live_db):
    started = []

    def start(kill: str | None = None, after: str = "finished", **options):
        env = child_env(**FAST)
        if kill:
            env.update(CUTROOM_TEST_KILL=kill, CUTROOM_TEST_KILL_AFTER=after,
                       PYTHONPATH=os.pathsep.join([HOOK, str(ROOT), env.get("PYTHONPATH", "")]))
        worker = WorkerProcess(env, **options)
        if not options.get("burst"):
            worker.wait_ready(redis)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _submit(api, task: str = "trigger-test", **params) -> str:
    response = api.post(f"/api/v1/tasks/{task}", json=params)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def _sessions() -> int:
    """Connections ever opened to the test database (PostgreSQL 14+)."""
    db.session.commit()  # a fresh statistics snapshot
    return db.session.scalar(
        text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))


def test_a_horse_killed_right_after_handing_over_its_success_ends_finished(api, workers):
    worker = workers(kill="horse")
    job_id = _submit(api, message="handed over")
    row = wait_for(lambda: job_row(job_id).status in ("finished", "failed") and job_row(job_id),
                   timeout=30, message="the job to end")
    assert (row.status, row.result) == ("finished", {"message": "handed over"}), worker.log()
    assert "terminated unexpectedly" in worker.log()  # the horse did die


def test_a_worker_killed_with_an_outcome_in_redis_leaves_it_to_the_reconciler(
        app, api, workers, redis, monkeypatch):
    monkeypatch.setitem(app.config, "HEARTBEAT_GRACE", 2.5)
    worker = workers(kill="worker")
    job_id = _submit(api, message="orphaned")
    worker.process.wait(timeout=30)
    assert worker.process.returncode == -signal.SIGKILL
    assert redis.llen(handoff.key_for(worker.name)) >= 1  # its progress, its outcome
    # `started` is recorded in the worker's batch after the fork, or is still in the list
    assert job_row(job_id).status in ("queued", "started")

    row = _reconcile_until(job_id, lambda row: row.status not in ("queued", "started"))
    assert (row.status, row.result, row.attempt) == ("finished", {"message": "orphaned"}, 1)
    assert not redis.exists(handoff.key_for(worker.name))


def _reconcile_until(job_id: str, done, timeout: float = 30):
    def reconciled():
        reconcile.run_pass()
        return done(job_row(job_id))

    wait_for(reconciled, timeout=timeout, interval=0.5, message="the reconciler to repair it")
    return job_row(job_id)


@pytest.mark.parametrize("after", ["started", "finished"])
def test_a_light_worker_killed_before_recording_what_it_handed_over_loses_none_of_it(
        app, api, workers, redis, monkeypatch, after):
    """The light worker records `started` and outcomes in batches, after the job: killed
    right after handing one over, its list holds it for the reconciler. A lost `started`
    would leave the row queued for good; a lost `finished`, abandoned."""
    monkeypatch.setitem(app.config, "HEARTBEAT_GRACE", 2.5)
    worker = workers(kill="self", after=after, light=True, queues=("default",))
    job_id = _submit(api, message="light, orphaned")
    worker.process.wait(timeout=30)
    assert worker.process.returncode == -signal.SIGKILL
    assert redis.llen(handoff.key_for(worker.name)) >= 1
    assert job_row(job_id).status == "queued"  # nothing recorded yet: all of it in Redis
    if after == "finished":
        row = _reconcile_until(job_id, lambda row: row.status != "queued")
        assert (row.status, row.result) == ("finished", {"message": "light, orphaned"})
    else:  # started, then (its worker gone, no heartbeat) abandoned
        row = _reconcile_until(job_id, lambda row: row.status not in ("queued", "started"))
        assert (row.status, row.error_code) == ("failed", "abandoned")
    assert (row.attempt, row.worker_name) == (1, worker.name)
    assert row.started_at is not None
    assert not redis.exists(handoff.key_for(worker.name))


def test_the_next_worker_under_the_same_name_records_what_its_predecessor_left(
        api, workers, redis):
    first = workers(kill="worker")
    job_id = _submit(api, message="left behind")
    first.process.wait(timeout=30)
    # RQ refuses a name while the dead worker's record lives (worker_ttl): let it expire.
    redis.delete(Worker.redis_worker_namespace_prefix + first.name)
    second = workers(name=first.name)
    row = wait_for(lambda: job_row(job_id).status == "finished" and job_row(job_id),
                   timeout=30, message=f"the next worker to record it: {second.log()}")
    assert row.result == {"message": "left behind"}


@pytest.mark.parametrize("light", [False, True], ids=["forking", "light"])
def test_a_run_of_jobs_opens_at_most_two_postgresql_sessions_per_worker(
        api, workers, light):
    ids = [_submit(api, message=f"job {i}") for i in range(60)]
    before = _sessions()
    worker = workers(burst=True, light=light, queues=("default",))
    worker.process.wait(timeout=120)
    opened = _sessions() - before
    statuses = {job_row(job_id).status for job_id in ids}
    assert statuses == {"finished"}, worker.log()
    assert opened <= 2, f"{opened} sessions for {len(ids)} jobs"


def test_the_light_worker_records_started_finished_and_failed(api, workers):
    worker = workers(light=True, queues=("default",))
    ok = _submit(api, message="light")
    bad = _submit(api, "fail-test", message="light failure")
    done = wait_for(lambda: job_row(ok).status == "finished" and job_row(ok), timeout=30,
                    message="the echo to finish")
    failed = wait_for(lambda: job_row(bad).status == "failed" and job_row(bad), timeout=30,
                      message="the failure to be recorded")
    assert done.result == {"message": "light"}
    assert (done.worker_name, done.attempt, done.progress) == (worker.name, 1, 100)
    assert done.started_at is not None and done.ended_at >= done.started_at
    assert done.stage == "Pausing 0 s"  # its progress, recorded with its outcome
    assert (failed.error_code, failed.worker_name, failed.attempt) == (
        "exception", worker.name, 3)
    assert "light failure" in failed.error


def test_progress_of_a_running_horse_shows_while_it_runs(api, workers):
    workers()
    job_id = _submit(api, "countdown", steps=4)
    row = wait_for(lambda: (job_row(job_id).progress or 0) >= 25 and job_row(job_id),
                   timeout=30, interval=0.2, message="progress to show")
    assert row.status == "started" and row.stage.startswith("Step")
    wait_for(lambda: job_row(job_id).status == "finished", timeout=30)
