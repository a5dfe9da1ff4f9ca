"""Idempotency keys, health endpoints, the doctor and the reconciler's passes (no worker)."""

from datetime import UTC, datetime, timedelta

import pytest
from rq.job import Job, JobStatus
from sqlalchemy.exc import OperationalError

from tests.support import close_app, job_row, make_job, make_token, make_user
from webapp import create_app
from webapp.extensions import db
from webapp.jobs import pending_outcomes, reconcile, retention, transitions
from webapp.jobs.doctor import diagnose
from webapp.models import BackgroundJob, Project

SCRIPT = [{"heading": "One", "narration": "First scene."}]


@pytest.fixture
def eager(app, monkeypatch):
    monkeypatch.setitem(app.config, "RECOVER_AFTER", 0.0)


def test_the_same_idempotency_key_twice_starts_one_job(client, auth, user):
    headers = {**auth, "Idempotency-Key": "order-42"}
    first = client.post("/api/v1/tasks/countdown", json={"steps": 3}, headers=headers)
    again = client.post("/api/v1/tasks/countdown", json={"steps": 3}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.get_json()["id"] == again.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 1
    other_user = {"Authorization": f"Bearer {make_token(make_user())}",
                  "Idempotency-Key": "order-42"}
    theirs = client.post("/api/v1/tasks/countdown", json={"steps": 3}, headers=other_user)
    assert theirs.get_json()["id"] != first.get_json()["id"]


def test_a_key_reused_for_another_request_is_422(client, auth):
    headers = {**auth, "Idempotency-Key": "k1"}
    client.post("/api/v1/tasks/countdown", json={"steps": 3}, headers=headers)
    response = client.post("/api/v1/tasks/countdown", json={"steps": 4}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"][0]["field"] == "Idempotency-Key"
    bad = client.post("/api/v1/tasks/countdown", json={},
                      headers={**auth, "Idempotency-Key": "x" * 201})
    assert bad.status_code == 422


def test_an_expired_key_starts_a_new_job(client, auth, user):
    headers = {**auth, "Idempotency-Key": "daily"}
    first = client.post("/api/v1/tasks/countdown", json={}, headers=headers).get_json()["id"]
    row = job_row(first)
    row.created_at = datetime.now(UTC) - timedelta(hours=25)
    db.session.commit()
    second = client.post("/api/v1/tasks/countdown", json={}, headers=headers).get_json()["id"]
    assert second != first
    assert job_row(first).idempotency_key is None


def test_the_same_render_key_twice_starts_one_render(client, auth, user):
    project = Project(user_id=user.id, title="T", script=SCRIPT, voice="silent", theme={})
    db.session.add(project)
    db.session.commit()
    headers = {**auth, "Idempotency-Key": "render-1"}
    url = f"/api/v1/projects/{project.id}/render"
    first = client.post(url, headers=headers)
    again = client.post(url, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.get_json()["pipeline_id"] == again.get_json()["pipeline_id"]
    assert BackgroundJob.query.filter_by(project_id=project.id).count() == 3


def test_health_and_readiness(client, db_session):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_not_ready_without_redis(db_session):
    broken = create_app({"TESTING": True, "REDIS_URL": "redis://127.0.0.1:1/0"})
    try:
        response = broken.test_client().get("/readyz")
    finally:
        close_app(broken)
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"].startswith("unreachable")


def test_enqueue_rows_left_created(app, user, redis, eager):
    job = make_job(user, status="created", params={"steps": 2})
    repairs = reconcile.Pass().run()
    assert repairs["created_enqueued"] == 1
    assert job_row(job.id).status == "queued"
    assert Job.fetch(job.rq_id, connection=redis).get_status() == JobStatus.QUEUED
    assert reconcile.Pass().run()["created_enqueued"] == 0  # nothing left to do


def test_lost_waiting_jobs_are_requeued_when_idempotent(app, user, redis, eager):
    lost = make_job(user, status="queued", params={"steps": 2})
    repairs = reconcile.Pass().run()
    assert repairs["lost_requeued"] == 1
    assert Job.fetch(lost.rq_id, connection=redis).get_status() == JobStatus.QUEUED
    assert job_row(lost.id).status == "queued"


def test_queued_outcomes_are_applied_in_order(app, user):
    job = make_job(user, status="queued")
    pending_outcomes.push("started", str(job.id), ["w9"])
    pending_outcomes.push("finished", str(job.id), [{"late": True}])
    pending_outcomes.push("failed", str(job.id), ["too late", "exception"])
    assert reconcile.Pass().run()["outcome_applied"] == 3
    row = job_row(job.id)
    assert (row.status, row.result, row.attempt, row.error) == ("finished", {"late": True},
                                                                1, None)
    assert pending_outcomes.pending() == 0


def test_retention_prunes_old_rows_but_keeps_failed_ones_longer(app, user):
    old = datetime.now(UTC) - timedelta(days=40)
    done = make_job(user, status="finished", ended_at=old)
    failed = make_job(user, status="failed", ended_at=old)
    recent = make_job(user, status="finished", ended_at=datetime.now(UTC))
    project = Project(user_id=user.id, title="Kept", script=SCRIPT, voice="silent", theme={})
    db.session.add(project)
    db.session.commit()
    render = make_job(user, status="finished", ended_at=old, project_id=project.id)
    ids = {name: job.id for name, job in
           {"done": done, "failed": failed, "recent": recent, "render": render}.items()}
    assert reconcile.Pass().run()["pruned"] == 1
    remaining = set(db.session.scalars(db.select(BackgroundJob.id)))
    assert ids["done"] not in remaining
    assert {ids["failed"], ids["recent"], ids["render"]} <= remaining


def test_doctor_reports_rows_and_rq_jobs_that_disagree(app, user, redis, runner):
    lost = make_job(user, status="queued")
    finished = make_job(user, status="finished")
    Job.create(print, id=str(finished.id), connection=redis, status=JobStatus.FAILED).save()
    findings = {f.job_id: f.problem for f in diagnose(redis)}
    assert findings[str(lost.id)] == "RQ has no such job (lost)"
    assert findings[str(finished.id)] == "statuses differ"
    result = runner.invoke(args=["jobs", "doctor"])
    assert result.exit_code == 1 and "2 disagreement(s)" in result.output


def test_reconcile_command_runs_one_pass(runner, user, eager):
    make_job(user, status="created")
    result = runner.invoke(args=["jobs", "reconcile", "--once"])
    assert result.exit_code == 0, result.output
    assert "created_enqueued=1" in result.output
    assert reconcile.counters()["created_enqueued"] == 1


def test_transitions_for_requeue_only_touch_waiting_rows(user):
    done = make_job(user, status="finished")
    assert not transitions.mark_requeued(done.id)


def test_a_backlog_of_old_rows_is_pruned_in_batches_over_passes(app, user, monkeypatch):
    monkeypatch.setattr(retention, "PRUNE_BATCH", 2)
    monkeypatch.setattr(retention, "PRUNE_BATCHES_PER_PASS", 2)
    old = datetime.now(UTC) - timedelta(days=40)
    for _ in range(5):
        make_job(user, status="canceled", ended_at=old)
    assert reconcile.Pass().run()["pruned"] == 4  # two batches of two in this pass
    assert reconcile.Pass().run()["pruned"] == 1  # the rest in the next
    assert BackgroundJob.query.filter_by(user_id=user.id).count() == 0


def test_queued_outcomes_that_cannot_be_applied_are_dropped_and_counted(app, user, redis):
    job = make_job(user, status="queued")
    redis.rpush(pending_outcomes.KEY, b"not json")
    pending_outcomes.push("finsihed", str(job.id), [{"typo": True}])  # no such outcome
    pending_outcomes.push("started", str(job.id), ["w9"])
    repairs = reconcile.Pass().run()
    assert (repairs["outcome_dropped"], repairs["outcome_applied"]) == (2, 1)
    assert (job_row(job.id).status, job_row(job.id).worker_name) == ("started", "w9")
    assert pending_outcomes.pending() == 0


def _stop_left_unconfirmed(user):
    """A running job whose stop request its (vanished) worker never carried out."""
    return make_job(user, status="started", worker_name="gone-worker",
                    cancel_requested_at=datetime.now(UTC) - timedelta(hours=1))


def test_a_repair_that_changed_no_row_is_not_counted(app, user, monkeypatch):
    job = _stop_left_unconfirmed(user)
    # The row moved on between the reconciler's query and its write.
    monkeypatch.setattr(transitions, "mark_stopped", lambda job_id: False)
    assert reconcile.Pass().run()["stop_settled"] == 0
    assert job_row(job.id).status == "started"


def test_a_repair_queued_while_postgres_blinked_is_counted_once_applied(app, user,
                                                                        monkeypatch):
    job = _stop_left_unconfirmed(user)

    def unreachable(job_id):
        raise OperationalError("UPDATE background_jobs", {}, ConnectionError("reset"))

    with monkeypatch.context() as patch:
        patch.setattr(transitions, "mark_stopped", unreachable)
        assert reconcile.Pass().run()["stop_settled"] == 0
    assert pending_outcomes.pending() == 1
    assert job_row(job.id).status == "started"
    repairs = reconcile.Pass().run()  # PostgreSQL is back: the queued outcome is applied
    assert (repairs["outcome_applied"], repairs["stop_settled"]) == (1, 0)
    assert job_row(job.id).status == "stopped"


def test_a_job_stranded_in_a_dead_workers_intermediate_queue_is_queued_again(
        app, user, redis, eager, monkeypatch):
    """A worker pops a job (RQ moves it to the queue's intermediate list), records `started`
    in PostgreSQL, then loses its network before its work-horse tells Redis: RQ still says
    `queued`, but no queue holds the job. The reconciler must put it back, not trust the
    status (seen on separate hosts: the row then sat `queued` for ever)."""
    from webapp.jobs.connection import get_queue
    from webapp.jobs.dispatch import push_to_rq
    from webapp.jobs.registry import get_task

    monkeypatch.setitem(app.config, "HEARTBEAT_GRACE", 0.0)
    queue = get_queue("default")
    stranded = {}
    for task in ("fail-test", "countdown"):  # with retries left, and without
        job = make_job(user, task=task, status="created",
                       params={"steps": 2} if task == "countdown" else {})
        push_to_rq(job, get_task(task))
        redis.lmove(queue.key, queue.intermediate_queue_key, "RIGHT", "LEFT")  # the pop
        assert transitions.mark_started(job.id, "gone-worker")
        db.session.commit()
        stranded[task] = job
    repairs = reconcile.Pass().run()
    assert (repairs["abandoned_requeued"], repairs["abandoned_failed"]) == (1, 1), repairs
    retried, failed = job_row(stranded["fail-test"].id), job_row(stranded["countdown"].id)
    assert (retried.status, retried.error_code) == ("queued", "abandoned")
    assert redis.lpos(queue.key, retried.rq_id) is not None  # a worker will get it
    assert (failed.status, failed.error_code) == ("failed", "abandoned")
    assert Job.fetch(failed.rq_id, connection=redis).get_status() == JobStatus.FAILED
    assert redis.llen(queue.intermediate_queue_key) == 0
