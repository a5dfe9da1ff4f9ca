"""Stop requests at every moment of a job's life: the worker lives on, the job ends stopped.

RQ's kill_horse() with no work-horse (pid 0) kills the worker's own process group, and a
stop that arrives before the fork did exactly that. Cancelling short jobs as they start, in
tight loops, hits every moment: queued, popped, started but not forked, forked, running.
Several loops run at once against the production web process, so that the workers pick
jobs up at moments no single loop controls.
"""

import random
import threading
import time

import pytest
from rq import Worker

from tests.live import HttpUser, WebProcess
from tests.support import WorkerProcess, child_env, job_row, make_user, wait_for

# Generous: these run real processes for tens of seconds, on a machine that may be busy.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

FINAL = ("finished", "failed", "stopped", "canceled")
LOOPS = 4
SECONDS = 30


@pytest.fixture
def two_workers(app, redis, live_db):
    workers = [WorkerProcess(child_env(WORKER_HEARTBEAT_INTERVAL="1")).wait_ready(redis)
               for _ in range(2)]
    yield workers
    for worker in workers:
        worker.stop()


@pytest.fixture
def web(live_db):
    process = WebProcess(child_env()).wait_ready()
    yield process
    process.stop()


def _signed_in(web) -> HttpUser:
    user = HttpUser(web.url)
    # Hundreds of jobs a minute: lifted, as an admin may, past the default submission rate.
    account = make_user(submit_rate="100000 per minute")
    assert user.sign_in(account.email).status_code == 303
    user.csrf("/")
    return user


def _submit(user: HttpUser, steps: int) -> str:
    response = user.post("/api/v1/tasks/countdown", json={"steps": steps})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _cancel_loop(user: HttpUser, seed: int, answers: dict[str, int], errors: list) -> None:
    """Submit a 2-second countdown and cancel it 0-200 ms later, until time is up: before
    its worker pops it, as the worker hands its `started` over and forks, and once its row
    says started (the worker records that in a batch while the horse runs)."""
    rng = random.Random(seed)
    deadline = time.monotonic() + SECONDS
    try:
        while time.monotonic() < deadline:
            job_id = _submit(user, steps=2)
            time.sleep(rng.uniform(0, 0.2))
            answers[job_id] = user.post(f"/api/v1/jobs/{job_id}/cancel").status_code
    except Exception as exc:  # reported by the test thread
        errors.append(exc)


def _dead(workers) -> list[str]:
    return [f"{w.name} exited with {w.process.returncode}:\n{w.log()}"
            for w in workers if w.process.poll() is not None]


def _all_final(job_ids) -> bool:
    return all(job_row(job_id).status in FINAL for job_id in job_ids)


def test_cancelling_jobs_as_they_start_never_kills_a_worker(web, two_workers, redis):
    users = [_signed_in(web) for _ in range(LOOPS)]
    answers: dict[str, int] = {}
    errors: list[Exception] = []
    loops = [threading.Thread(target=_cancel_loop, args=(user, seed, answers, errors))
             for seed, user in enumerate(users)]
    for loop in loops:
        loop.start()
    for loop in loops:
        loop.join()
    assert not errors, errors
    assert not _dead(two_workers), _dead(two_workers)

    wait_for(lambda: _all_final(answers), timeout=90, interval=0.5,
             message="every canceled job to reach a final state")
    for job_id, code in answers.items():
        row = job_row(job_id)
        if code == 200:  # canceled while waiting: it never ran
            assert (row.status, row.started_at, row.attempt) == ("canceled", None, 0), job_id
        else:  # asked to stop while starting or running: never finished
            assert code == 202, (job_id, code)
            assert row.status == "stopped", (job_id, row.status, row.error)
    codes = set(answers.values())
    assert codes == {200, 202}, f"the loops should hit both waiting and running jobs: {codes}"

    assert not _dead(two_workers), _dead(two_workers)
    registered = {w.name for w in Worker.all(connection=redis)}
    assert {w.name for w in two_workers} <= registered
    # Both still take work: two jobs at once run on the two workers.
    last = [_submit(users[0], steps=2) for _ in range(2)]
    wait_for(lambda: _all_final(last), timeout=60, message="the last two jobs to end")
    rows = [job_row(job_id) for job_id in last]
    assert [row.status for row in rows] == ["finished", "finished"]
    assert {row.worker_name for row in rows} == {w.name for w in two_workers}
    for user in users:
        user.close()
