"""End to end: the app enqueues, a real worker process runs, PostgreSQL records every state."""

import os
import signal

import pytest
from rq.job import Job, JobStatus

from tests.support import ROOT, WorkerProcess, child_env, job_row, login, make_user, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(client, live_db):
    login(client, make_user())
    return client


def _submit(api, task: str, **params) -> str:
    response = api.post(f"/api/v1/tasks/{task}", json=params)
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()["id"]


def _status(job_id: str, wanted: str, timeout: float = 20):
    return wait_for(lambda: (row := job_row(job_id)).status == wanted and row, timeout=timeout,
                    message=f"job {job_id} to be {wanted}")


def test_a_task_finishes_and_its_row_holds_the_result(api, worker):
    job_id = _submit(api, "trigger-test", message="hello from the test")
    row = _status(job_id, "finished")
    assert row.result == {"message": "hello from the test"}
    assert (row.attempt, row.progress, row.worker_name) == (1, 100, worker.name)
    assert row.started_at <= row.ended_at
    body = api.get(f"/api/v1/jobs/{job_id}").get_json()
    assert (body["status"], body["result"]) == ("finished", {"message": "hello from the test"})


def test_a_failing_task_ends_failed_after_its_retries_and_a_user_retry_runs_again(api, worker):
    job_id = _submit(api, "fail-test", message="kaboom", succeed_on_attempt=4)
    row = _status(job_id, "failed", timeout=30)
    assert (row.attempt, row.error, row.error_code) == (3, "RuntimeError: kaboom", "exception")
    assert "raise RuntimeError(message)" in row.traceback
    # The user retries: a fourth attempt, which this task is told to let succeed.
    assert api.post(f"/api/v1/jobs/{job_id}/retry").status_code == 202
    row = _status(job_id, "finished")
    assert (row.attempt, row.result, row.error) == (4, {"succeeded_on_attempt": 4}, None)


def test_a_retried_job_shows_each_attempt_until_it_succeeds(api, worker):
    job_id = _submit(api, "fail-test", message="flaky", succeed_on_attempt=2)
    waiting = wait_for(lambda: (row := job_row(job_id)).status in ("scheduled", "queued")
                       and row.attempt == 1 and row, message="the retry to be scheduled")
    assert waiting.error == "RuntimeError: flaky"
    card = api.get(f"/jobs/{job_id}/card").get_data(as_text=True)
    assert "Attempt 1 failed: flaky" in card and "retrying" in card
    assert "RuntimeError" not in card  # the recorded error's class name is for admins
    row = _status(job_id, "finished")
    assert (row.attempt, row.result, row.error) == (2, {"succeeded_on_attempt": 2}, None)


def test_countdown_progress_climbs_while_it_runs(api, worker):
    # Six one-second steps: the worker records the newest progress about once a second, so
    # under load a step can be passed over (seen: two of four).
    job_id = _submit(api, "countdown", steps=6)
    seen: list[tuple[int, str]] = []

    def sample():
        row = job_row(job_id)
        if row.status == "started" and (not seen or seen[-1] != (row.progress, row.stage)):
            seen.append((row.progress, row.stage))
        return row.status == "finished"

    wait_for(sample, timeout=20, interval=0.1, message="the countdown to finish")
    progress = [p for p, _ in seen]
    assert len(set(progress)) >= 3, seen
    assert progress == sorted(progress)
    # The worker records a running job's newest progress once a second
    # (webapp/jobs/worker/drain.py), so under load a step can be passed over; each stage
    # seen names its step, in order.
    stages = [stage for _, stage in seen if stage and stage.startswith("Step ")]
    steps = [int(stage.split()[1]) for stage in stages]
    assert len(steps) >= 2 and steps == sorted(steps) and set(steps) <= set(range(1, 7)), seen
    assert all(stage.endswith(" of 6") for stage in stages), seen
    assert job_row(job_id).progress == 100


def test_cancel_a_queued_job_and_it_never_runs(api, worker, redis):
    busy = _submit(api, "countdown", steps=2)
    _status(busy, "started")
    queued = _submit(api, "trigger-test", message="never")
    response = api.post(f"/api/v1/jobs/{queued}/cancel")
    assert (response.status_code, response.get_json()["status"]) == (200, "canceled")
    _status(busy, "finished")
    follow_up = _submit(api, "trigger-test", message="after")
    _status(follow_up, "finished")  # the worker has moved past the canceled job
    row = job_row(queued)
    assert (row.status, row.started_at, row.attempt) == ("canceled", None, 0)
    assert Job.fetch(queued, connection=redis).get_status() == JobStatus.CANCELED


def test_stop_a_running_job(api, worker):
    job_id = _submit(api, "countdown", steps=60)
    _status(job_id, "started")
    wait_for(worker.horse_pids, message="the work-horse to fork")
    response = api.post(f"/api/v1/jobs/{job_id}/cancel")
    assert response.status_code == 202
    assert response.get_json()["cancel_requested"] is True
    row = _status(job_id, "stopped", timeout=15)
    assert row.ended_at is not None and row.progress < 100
    assert "live-state" not in api.get(f"/jobs/{job_id}/card").get_data(as_text=True)


def test_a_killed_work_horse_ends_failed_killed(api, worker):
    job_id = _submit(api, "countdown", steps=60)
    _status(job_id, "started")
    (horse,) = wait_for(worker.horse_pids, message="the work-horse to fork")
    os.kill(horse, signal.SIGKILL)
    row = _status(job_id, "failed", timeout=15)
    assert row.error_code == "killed"
    assert "SIGKILL" in row.error
    # The worker survives its horse and runs the next job.
    _status(_submit(api, "trigger-test"), "finished")


def test_a_finished_card_is_watched_no_more(api, worker):
    job_id = _submit(api, "countdown", steps=1)
    live = api.get(f"/jobs/{job_id}/card").get_data(as_text=True)
    assert f'class="live-state" name="c" value="{job_id.replace("-", "")}~' in live
    _status(job_id, "finished")
    final = api.get(f"/jobs/{job_id}/card").get_data(as_text=True)
    assert "live-state" not in final and "hx-trigger" not in final and "hx-get" not in final
    assert "Finished" in final and "100%" in final


def test_finished_cards_say_done_not_their_last_progress_report(api, app, redis, live_db):
    worker = WorkerProcess(child_env(TRIGGER_TEST_DELAY="0.3")).wait_ready(redis)
    try:
        countdown = _submit(api, "countdown", steps=2)
        trigger = _submit(api, "trigger-test", message="hello")
        rows = [_status(countdown, "finished"), _status(trigger, "finished")]
    finally:
        worker.stop()
    # The row keeps the last stage text the task reported (the API shows it)...
    assert [row.stage for row in rows] == ["Step 2 of 2", "Pausing 0.3 s"]
    # ...and the cards say how the jobs ended instead.
    for job_id, stage, field in ((countdown, "Step 2 of 2", "<dt>Steps</dt>\n  <dd>2</dd>"),
                                 (trigger, "Pausing", "<dt>Message</dt>\n  <dd>hello</dd>")):
        for url in (f"/jobs/{job_id}/card", f"/jobs/{job_id}"):
            html = api.get(url).get_data(as_text=True)
            assert stage not in html, url
            assert '<p class="outcome">Done in ' in html and field in html, url


def test_sigterm_lets_a_short_job_finish(api, app, redis, live_db):
    worker = WorkerProcess(child_env(WORKER_SHUTDOWN_GRACE="15")).wait_ready(redis)
    try:
        job_id = _submit(api, "countdown", steps=2)
        _status(job_id, "started")
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=15) == 0
        row = job_row(job_id)
        assert (row.status, row.result, row.attempt) == ("finished", {"steps": 2}, 1)
    finally:
        worker.stop()


def _hooked_worker(redis, **slow: str) -> WorkerProcess:
    """A worker that holds a moment of a job's start open (tests/launch_hook)."""
    env = child_env(**slow)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "launch_hook"), str(ROOT),
                                         env.get("PYTHONPATH", "")])
    return WorkerProcess(env).wait_ready(redis)


def _wait_handed_over(job_id: str, worker: WorkerProcess, redis) -> None:
    """Until the worker has handed the job's `started` to its list (or recorded it)."""
    from webapp.jobs import handoff

    def handed() -> bool:
        listed = redis.lrange(handoff.key_for(worker.name), 0, -1)
        return any(job_id.encode() in item for item in listed) or \
            job_row(job_id).status != "queued"

    wait_for(handed, timeout=15, message="the worker to hand `started` over")


def test_sigterm_just_after_the_start_is_handed_over_lets_the_job_run_then_stops(api, redis,
                                                                               live_db):
    """A stop between handing `started` over and forking the horse (held open here for a
    second, tests/launch_hook): RQ used to raise StopRequested there, and the worker
    left the job started, never run. Now the job runs to its end, then the worker stops."""
    worker = _hooked_worker(redis, CUTROOM_TEST_SLOW_LAUNCH="1.5")
    try:
        job_id = _submit(api, "countdown", steps=1)
        _wait_handed_over(job_id, worker, redis)
        worker.process.send_signal(signal.SIGTERM)  # within the 1.5 s before the fork
        assert worker.process.wait(timeout=20) == 0
        row = job_row(job_id)
        assert (row.status, row.result, row.attempt) == ("finished", {"steps": 1}, 1), \
            worker.log()
    finally:
        worker.stop()


def test_sigterm_past_the_grace_period_puts_the_job_back_for_another_worker(api, app, redis,
                                                                            live_db):
    first = WorkerProcess(child_env(WORKER_SHUTDOWN_GRACE="1")).wait_ready(redis)
    try:
        job_id = _submit(api, "countdown", steps=4)
        _status(job_id, "started")
        wait_for(first.horse_pids, message="the work-horse to fork")
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=10) == 0
    finally:
        first.stop()
    row = job_row(job_id)
    assert (row.status, row.attempt, row.worker_name) == ("queued", 0, None)
    assert "worker shutting down" in row.stage
    assert Job.fetch(job_id, connection=redis).get_status() == JobStatus.QUEUED
    second = WorkerProcess(child_env()).wait_ready(redis)
    try:
        row = _status(job_id, "finished", timeout=20)
        assert (row.attempt, row.worker_name, row.result) == (1, second.name, {"steps": 4})
    finally:
        second.stop()


def test_sigterm_as_a_worker_starts_a_job_it_just_popped_puts_the_job_back(api, app, redis,
                                                                         live_db):
    """A stop that lands while the worker hands over a job's `started` (held open here,
    tests/launch_hook) must stop the worker, and the job goes back to the queue for the
    next worker, its attempt not counted; RQ's StopRequested used to be raised inside the
    start's write and swallowed, and the worker ran on."""
    import time

    from webapp.jobs.connection import get_queue

    queue_key = get_queue("default").key
    worker = _hooked_worker(redis, CUTROOM_TEST_SLOW_START="1.5")
    job_id = _submit(api, "countdown", steps=1)
    try:
        wait_for(lambda: redis.lpos(queue_key, job_id) is None, timeout=15,
                 message="the worker to pop the job")
        time.sleep(0.3)  # within the 1.5 s before `started` is handed over
        worker.process.send_signal(signal.SIGTERM)
        assert worker.process.wait(timeout=15) == 0
    finally:
        worker.stop()
    row = job_row(job_id)
    assert (row.status, row.attempt) == ("queued", 0), worker.log()
    assert redis.lpos(queue_key, job_id) is not None
    second = WorkerProcess(child_env()).wait_ready(redis)
    try:
        assert _status(job_id, "finished", timeout=20).attempt == 1
    finally:
        second.stop()


def test_a_task_finds_its_row_started_with_its_attempt_counted(api, redis, live_db):
    """The worker records `started` a moment after the fork, in a batch: a task that reads
    its own row records it first, so fail-test, which succeeds on the attempt its row
    shows, sees attempt 1 (read too early it would see attempt 0 and fail). The worker's
    own record of it waits on a row lock here, and changes nothing after the task's."""
    import time

    from sqlalchemy import text

    from webapp.extensions import db

    job_id = _submit(api, "fail-test", message="early", succeed_on_attempt=1)
    _status(job_id, "queued")
    with db.engine.connect() as connection, connection.begin():
        connection.execute(text("SELECT 1 FROM background_jobs WHERE id = :id FOR UPDATE"),
                           {"id": job_id})
        worker = WorkerProcess(child_env()).wait_ready(redis)
        _wait_handed_over(job_id, worker, redis)
        time.sleep(0.5)  # the worker's batch and the task's read both wait on the lock
    try:
        row = _status(job_id, "finished")
        assert (row.attempt, row.result) == (1, {"succeeded_on_attempt": 1})
    finally:
        worker.stop()


def test_a_job_canceled_as_its_worker_starts_it_is_stopped_never_run(api, redis, live_db):
    """Canceled after the worker popped it and handed its `started` over, before the fork
    (held open here, tests/launch_hook): the row is still queued, so the cancel wins; the
    RQ job names the worker, which is told to stop the job and never forks for it. No
    attempt is counted, and the worker goes on to the next job."""
    worker = _hooked_worker(redis, CUTROOM_TEST_SLOW_LAUNCH="2")
    try:
        job_id = _submit(api, "countdown", steps=30)
        _wait_handed_over(job_id, worker, redis)
        response = api.post(f"/api/v1/jobs/{job_id}/cancel")
        assert (response.status_code, response.get_json()["status"]) == (200, "canceled")
        after = _submit(api, "trigger-test", message="next")
        assert _status(after, "finished").worker_name == worker.name  # the worker went on
        row = job_row(job_id)
        assert (row.status, row.attempt, row.result, row.started_at) == \
            ("canceled", 0, None, None)
        assert f"Job {job_id} was asked to stop before its work-horse started" in worker.log()
    finally:
        worker.stop()


def test_a_job_rq_hands_out_after_its_row_ended_is_stopped_as_it_starts(api, redis, live_db):
    """RQ hands out a job whose row is final already (canceled while Redis was unreachable,
    so RQ never heard of it): the worker's batch after the fork finds the row final and
    stops the work-horse. The row is untouched, no attempt counted, and the worker goes
    on to the next job."""
    from sqlalchemy import text

    from webapp.extensions import db

    job_id = _submit(api, "countdown", steps=30)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE background_jobs SET status = 'canceled', "
                                "ended_at = now() WHERE id = :id"), {"id": job_id})
    worker = WorkerProcess(child_env()).wait_ready(redis)
    try:
        wait_for(lambda: Job.fetch(job_id, connection=redis).get_status() == JobStatus.STOPPED,
                 timeout=15, message="the work-horse to be stopped")
        assert f"Job {job_id} is canceled in PostgreSQL; stopping its work-horse" in worker.log()
        row = job_row(job_id)
        assert (row.status, row.attempt, row.result, row.started_at) == \
            ("canceled", 0, None, None)
        after = _submit(api, "trigger-test", message="next")
        assert _status(after, "finished").worker_name == worker.name
    finally:
        worker.stop()
