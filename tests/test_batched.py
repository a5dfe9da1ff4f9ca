"""A batch of handed-over events in a few statements (webapp/jobs/batched.py): the same
moves as one at a time, never backwards, each `started` counted once, owners noted."""

import time
import uuid

from tests.support import job_row, make_job
from webapp.extensions import db
from webapp.jobs import batched, outcomes
from webapp.jobs.changes import KIND

AFTERCOMMIT = "cutroom.after_commit"


def _event(outcome: str, job, *args, at: float | None = None) -> dict:
    return {"outcome": outcome, "job_id": str(job.id), "args": list(args),
            "at": at or time.time()}


def _started(job, worker: str = "w1", at: float | None = None) -> dict:
    at = at or time.time()
    return _event("started", job, worker, at, at=at)


def test_a_batch_starts_reports_and_finishes_jobs_with_their_own_times(user):
    jobs = [make_job(user, status="queued") for _ in range(3)]
    began = time.time() - 5
    events = [event for job in jobs for event in (
        _started(job, at=began), _event("progress", job, 40, "Halfway"),
        _event("finished", job, {"n": str(job.id)}, at=began + 2))]
    quick, rest = batched.split(events)
    assert (len(quick), rest) == (9, [])
    outcomes.record_all([], quick)
    for job in jobs:
        row = job_row(job.id)
        assert (row.status, row.attempt, row.worker_name) == ("finished", 1, "w1")
        assert (row.progress, row.stage, row.result) == (100, "Halfway", {"n": str(job.id)})
        assert abs((row.ended_at - row.started_at).total_seconds() - 2) < 0.01


def test_a_late_started_never_moves_a_final_row_back(user):
    done = make_job(user, status="finished", result={"kept": True})
    batched.apply([_started(done), _event("progress", done, 10, "late")])
    db.session.commit()
    row = job_row(done.id)
    assert (row.status, row.progress, row.result) == ("finished", 0, {"kept": True})


def test_the_same_started_applied_twice_counts_one_attempt(user):
    job = make_job(user, status="queued")
    mark = _started(job)
    batched.apply([mark])
    db.session.commit()
    batched.apply([mark])
    db.session.commit()
    assert outcomes.started(str(job.id), "w1", mark["args"][1]) is False  # one at a time too
    assert job_row(job.id).attempt == 1


def test_a_started_row_takes_only_a_newer_start_batched_or_one_at_a_time(user):
    """A killed worker's list reaches PostgreSQL late (the reconciler moves it on): its
    `started` is older than the next worker's, which the row already shows, and must not
    name the dead worker over it nor count another attempt. A row that waits again takes
    any start (a retry on another host, whose clock may be behind)."""
    began = time.time() - 60
    for apply in (lambda mark: batched.apply([mark]),
                  lambda mark: outcomes.started(mark["job_id"], *mark["args"])):
        job = make_job(user, status="queued")
        batched.apply([_started(job, "next", at=began + 30)])
        db.session.commit()
        apply(_started(job, "dead", at=began))
        db.session.commit()
        row = job_row(job.id)
        assert (row.status, row.worker_name, row.attempt) == ("started", "next", 1)
        apply(_started(job, "later", at=began + 40))
        db.session.commit()
        assert (job_row(job.id).worker_name, job_row(job.id).attempt) == ("later", 2)
        outcomes.retrying(str(job.id), "queued", "boom", "exception")
        apply(_started(job, "behind", at=began + 35))
        db.session.commit()
        row = job_row(job.id)
        assert (row.status, row.worker_name, row.attempt) == ("started", "behind", 3)


def test_a_job_with_any_other_event_goes_one_at_a_time_in_order(user):
    simple, retried = make_job(user, status="queued"), make_job(user, status="queued")
    events = [_started(retried), _event("retrying", retried, "queued", "boom", "exception"),
              _started(simple), _started(retried), _event("finished", retried, None),
              _event("finished", simple, 1)]
    quick, rest = batched.split(events)
    assert {e["job_id"] for e in quick} == {str(simple.id)}
    assert [e["outcome"] for e in rest] == ["started", "retrying", "started", "finished"]
    items = [outcomes.from_event(event) for event in rest]
    outcomes.record_all(items, quick)
    row = job_row(retried.id)
    assert (row.status, row.attempt, row.result) == ("finished", 2, None)
    assert job_row(simple.id).result == 1


def test_a_finished_pipeline_step_lets_the_next_one_show_as_queued(user):
    first = make_job(user, task="countdown", status="started", pipeline_step=1,
                     pipeline_id=uuid.uuid4())
    second = make_job(user, task="countdown", status="deferred", pipeline_step=2,
                      pipeline_id=first.pipeline_id)
    assert batched.apply([_event("finished", first, {"ok": True})]) == [str(first.id)]
    db.session.commit()
    assert job_row(second.id).status == "queued"


def test_the_owners_of_changed_rows_are_noted_for_the_live_pages(user):
    job = make_job(user, status="queued")
    batched.apply([_started(job)])
    assert db.session.info[AFTERCOMMIT][KIND] == {user.id}
    db.session.rollback()
