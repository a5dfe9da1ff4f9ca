"""What a dead or stopped work-horse leaves behind: a scheduler, temporary build folders.

A worker killed with SIGKILL must take its scheduler process along (else it holds the
scheduler lock with no worker around it), and the folder a stage was building when its
horse was stopped or killed must not stay on disk for hours.
"""

import os
import signal
import time

import psutil
import pytest
from rq.scheduler import RQScheduler

from tests.support import WorkerProcess, child_env, job_row, login, make_user, wait_for
from webapp.jobs import reconcile, scratch
from webapp.render import storage

# Generous: these run real processes for tens of seconds, on a machine that may be busy.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FAST = {"WORKER_HEARTBEAT_INTERVAL": "1"}


@pytest.fixture
def api(client, live_db):
    login(client, make_user())
    return client


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


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _scheduler_pid(worker: WorkerProcess) -> int | None:
    """The worker's child that does not lead its own process group (horses do)."""
    try:
        children = psutil.Process(worker.process.pid).children()
    except psutil.NoSuchProcess:
        return None
    pids = [c.pid for c in children if not _gone(c.pid) and os.getpgid(c.pid) != c.pid]
    return pids[0] if pids else None


def _lock_holder_pid(redis, queue: str = "default") -> int | None:
    name = redis.get(RQScheduler.get_locking_key(queue))
    if name is None:
        return None
    try:
        return RQScheduler.fetch(name.decode(), redis).pid
    except Exception:
        return None


def _submit(api, task: str, **params) -> str:
    response = api.post(f"/api/v1/tasks/{task}", json=params)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def test_a_killed_workers_scheduler_dies_with_it_and_the_next_worker_takes_over(
        api, workers, redis):
    first = workers()
    scheduler = wait_for(lambda: _scheduler_pid(first), message="the scheduler process")
    wait_for(lambda: _lock_holder_pid(redis) == scheduler, message="it to hold the lock")
    try:
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        wait_for(lambda: _gone(scheduler), timeout=15,
                 message="the scheduler to die with its worker")
    finally:
        if not _gone(scheduler):  # do not leave an orphan to the other tests
            os.kill(scheduler, signal.SIGKILL)
    second = workers()
    successor = wait_for(lambda: _scheduler_pid(second), timeout=30,
                         message="the new worker's scheduler")
    wait_for(lambda: _lock_holder_pid(redis) == successor, timeout=30,
             message="the new scheduler to take the lock")
    # Retry back-offs (1 s, then 2 s) are run by the new scheduler.
    job_id = _submit(api, "fail-test", succeed_on_attempt=3)
    row = wait_for(lambda: job_row(job_id).status == "finished" and job_row(job_id),
                   timeout=60, message="the retried job to finish")
    assert (row.attempt, row.result) == (3, {"succeeded_on_attempt": 3})


def _long_script(scenes: int) -> list[dict]:
    return [{"heading": f"Part {i}", "narration": "A long stretch of narration. " * 10}
            for i in range(scenes)]


def _render(api, scenes: int) -> tuple[dict, dict]:
    """Start rendering a new project; returns (project, render)."""
    body = {"title": "Leftovers", "script": _long_script(scenes), "voice": "silent"}
    project = api.post("/api/v1/projects", json=body).get_json()
    response = api.post(project["links"]["render"])
    assert response.status_code == 202, response.get_data(as_text=True)
    return project, response.get_json()


def _temp_folders(app, project: dict) -> list:
    with app.app_context():
        folder = storage.project_dir(project["id"])
    return sorted(folder.glob("*/.tmp-*"))


def _assembling(app, project: dict, render: dict, what: str) -> list:
    """The project's temp folders once its last stage (assemble-video) is building."""
    assemble = render["stages"][-1]["id"]
    try:
        return wait_for(lambda: job_row(assemble).status == "started"
                        and _temp_folders(app, project), timeout=150, interval=0.05,
                        message=f"{what}'s last stage to build")
    except AssertionError as exc:
        stages = [(s["task"], job_row(s["id"]).status, job_row(s["id"]).error)
                  for s in render["stages"]]
        raise AssertionError(f"{exc}: stages {stages}") from None


def test_a_stopped_stage_leaves_a_folder_that_one_reconcile_pass_sweeps(
        api, app, workers, live_db):
    workers()
    workers()
    stopped, stopped_render = _render(api, scenes=1)
    running, running_render = _render(api, scenes=2)
    [left] = _assembling(app, stopped, stopped_render, "the first render")
    assemble = stopped_render["stages"][-1]["id"]
    assert api.post(f"/api/v1/jobs/{assemble}/cancel").status_code == 202
    wait_for(lambda: job_row(assemble).status == "stopped", message="the stage to stop")
    assert left.exists()  # the killed horse could not clean up

    [live] = _assembling(app, running, running_render, "the second render")
    with app.app_context():
        media = storage.media_root()
    unnamed_new = media / "projects" / str(stopped["id"]) / "video" / ".tmp-unnamed-new"
    unnamed_old = unnamed_new.with_name(".tmp-unnamed-old")
    for folder in (unnamed_new, unnamed_old):
        folder.mkdir()
    old = time.time() - scratch.STALE_AFTER - 60
    os.utime(unnamed_old, (old, old))

    repairs = reconcile.Pass().run()
    assert not left.exists(), "the stopped stage's folder is swept"
    assert live.exists(), "a running stage's folder is kept"
    assert unnamed_new.exists() and not unnamed_old.exists()
    assert repairs["scratch_swept"] == 2
    final = running_render["stages"][-1]["id"]
    row = wait_for(lambda: job_row(final).status in ("finished", "failed") and job_row(final),
                   timeout=180, message="the running render to end")
    assert row.status == "finished", row.error
