"""State changes are conditional UPDATEs: terminal states are sticky, late events are no-ops."""

import sys

import pytest
from rq import Retry
from rq.job import Job
from rq.timeouts import JobTimeoutException

from tests.support import job_row, make_job
from webapp.jobs import callbacks, outcomes, transitions
from webapp.jobs.connection import get_redis


def test_start_counts_attempts_and_records_the_worker(user):
    job = make_job(user, status="queued")
    assert transitions.mark_started(job.id, "w1")
    row = job_row(job.id)
    assert (row.status, row.attempt, row.worker_name) == ("started", 1, "w1")
    assert row.started_at is not None and row.heartbeat_at is not None


@pytest.mark.parametrize("final", ["finished", "failed", "stopped", "canceled"])
def test_terminal_states_are_sticky(user, final):
    job = make_job(user, status=final, result={"kept": True} if final == "finished" else None)
    assert not transitions.mark_started(job.id, "late-worker")
    assert not transitions.mark_failed(job.id, "late failure", "abandoned")
    assert not transitions.mark_retrying(job.id, "queued", "late", "exception")
    assert not transitions.mark_canceled(job.id)
    assert not transitions.record_progress(job.id, 50, "late")
    if final != "finished":
        assert not transitions.mark_finished(job.id, {"late": True})
    row = job_row(job.id)
    assert row.status == final
    assert row.error is None


def test_a_late_failure_never_overwrites_a_success(user):
    job = make_job(user, status="started")
    assert transitions.mark_finished(job.id, {"ok": 1})
    assert not transitions.mark_failed(job.id, "sweep after success", "abandoned")
    row = job_row(job.id)
    assert (row.status, row.result, row.error_code) == ("finished", {"ok": 1}, None)


def test_only_waiting_jobs_can_be_canceled(user):
    running = make_job(user, status="started")
    waiting = make_job(user, status="scheduled")
    assert not transitions.mark_canceled(running.id)
    assert transitions.mark_canceled(waiting.id)
    assert job_row(waiting.id).ended_at is not None


def test_retry_resets_the_outcome_but_keeps_the_attempt_count(user):
    job = make_job(user, status="failed", attempt=3, error="boom", error_code="exception",
                   progress=40, stage="half")
    assert transitions.reset_for_retry(job.id)
    row = job_row(job.id)
    assert (row.status, row.attempt, row.error, row.progress, row.stage) == (
        "created", 3, None, 0, None)
    assert not transitions.reset_for_retry(job.id)


def test_enqueue_failure_only_applies_to_created_rows(user):
    job = make_job(user, status="created")
    assert transitions.mark_enqueue_failed(job.id, "Redis down")
    row = job_row(job.id)
    assert (row.status, row.error_code) == ("failed", "enqueue_failed")


def _rq_job(job_id, retry=None):
    job = Job.create(print, id=str(job_id), connection=get_redis(), retry=retry)
    job.save()
    return job


def _raise(exc):
    try:
        raise exc
    except BaseException:
        return sys.exc_info()


def test_failure_callback_with_retries_left_sends_the_row_back_to_waiting(user):
    job = make_job(user, status="started", attempt=1)
    rq_job = _rq_job(job.id, Retry(max=2, interval=[5]))
    callbacks.on_failure(rq_job, None, *_raise(RuntimeError("first try")))
    row = job_row(job.id)
    assert (row.status, row.error, row.error_code) == (
        "scheduled", "RuntimeError: first try", "exception")
    assert "RuntimeError" in row.traceback
    assert row.ended_at is None


def test_failure_callback_on_the_last_attempt_fails_the_row(user):
    job = make_job(user, status="started", attempt=1)
    callbacks.on_failure(_rq_job(job.id), None, *_raise(JobTimeoutException("too slow")))
    row = job_row(job.id)
    assert (row.status, row.error_code) == ("failed", "timeout")
    assert row.ended_at is not None


def test_callbacks_never_raise_even_on_unprintable_errors(user):
    class Unprintable(Exception):
        def __str__(self):
            raise ValueError("no")

    job = make_job(user, status="started")
    callbacks.on_failure(_rq_job(job.id), None, Unprintable, Unprintable(), None)
    assert job_row(job.id).error == "Unprintable: <unprintable Unprintable>"
    # A job id with no row at all: nothing to record, and still no exception.
    missing = _rq_job("00000000-0000-0000-0000-000000000000")
    callbacks.on_success(missing, None, {"x": 1})
    callbacks.on_stopped(missing, None)


def test_success_callback_stores_any_result_as_json(user):
    job = make_job(user, status="started")
    callbacks.on_success(_rq_job(job.id), None, {1, 2})
    row = job_row(job.id)
    assert row.status == "finished"
    assert row.result == {"repr": "{1, 2}"}
    assert row.progress == 100


def test_a_redelivered_job_starts_a_new_attempt(user):
    job = make_job(user, status="started", attempt=1, worker_name="dead-worker")
    assert transitions.mark_started(job.id, "w2")
    row = job_row(job.id)
    assert (row.status, row.attempt, row.worker_name) == ("started", 2, "w2")


def test_outcomes_are_recorded_by_function(user):
    job = make_job(user, status="queued")
    assert outcomes.record(outcomes.started, job.id, "w1")
    assert outcomes.record(outcomes.finished, job.id, {"ok": 1})
    assert not outcomes.record(outcomes.failed, job.id, "late", "exception")  # sticky
    assert (job_row(job.id).status, job_row(job.id).result) == ("finished", {"ok": 1})


def test_recording_something_that_is_not_an_outcome_fails_loudly(user):
    job = make_job(user, status="started")
    with pytest.raises(TypeError, match="not an outcome"):
        outcomes.record(outcomes.heartbeat, job.id)
    with pytest.raises(TypeError, match="not an outcome"):
        outcomes.record("finished", job.id, {"ok": 1})
    assert job_row(job.id).status == "started"
