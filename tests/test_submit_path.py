"""The submit path (webapp/jobs/service.py submit): one transaction, then RQ; what each
outcome leaves in PostgreSQL and Redis, against real PostgreSQL/Redis."""

from rq import Queue
from rq.job import Job

from webapp.auth.services import revoke_token
from webapp.extensions import db
from webapp.jobs.registry import get_task
from webapp.models import ApiToken, BackgroundJob

SUBMIT = "/api/v1/tasks/trigger-test"


def _rows(user) -> list[BackgroundJob]:
    db.session.expire_all()
    return BackgroundJob.query.filter_by(user_id=user.id).all()


def test_an_accepted_submit_leaves_one_queued_row_and_its_rq_job(client, auth, user, redis):
    body = client.post(SUBMIT, json={"message": "one"}, headers=auth).get_json()
    [row] = _rows(user)
    assert (str(row.id), row.status, row.held) == (body["id"], "queued", False)
    assert row.enqueued_at is not None and body["enqueued_at"] == row.enqueued_at.isoformat()
    assert body["created_at"] == row.created_at.isoformat()
    assert Job.fetch(body["id"], connection=redis).kwargs == {"message": "one"}
    assert body["id"] in Queue(row.queue, connection=redis).job_ids


def test_a_user_at_their_running_limit_gets_a_held_row_and_no_rq_job(client, user, redis):
    from tests.support import make_token, make_user

    owner = make_user(max_running_jobs=1)
    headers = {"Authorization": f"Bearer {make_token(owner)}"}
    first = client.post(SUBMIT, json={"message": "a"}, headers=headers).get_json()
    second = client.post(SUBMIT, json={"message": "b"}, headers=headers).get_json()
    assert (first["held"], second["held"]) == (False, True)
    assert second["status"] == "queued" and second["enqueued_at"] is None
    assert not Job.exists(second["id"], connection=redis)
    assert {r.status for r in _rows(owner)} == {"queued"}


def test_redis_refusing_the_enqueue_is_503_and_leaves_the_row_failed(client, auth, user,
                                                                      redis):
    # Rate limits pass (Redis answers), but RQ's push fails: its queue's key is no list.
    key = Queue(get_task("trigger-test").queue, connection=redis).key
    redis.set(key, "not a list")
    try:
        response = client.post(SUBMIT, json={"message": "lost"}, headers=auth)
    finally:
        redis.delete(key)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "queue_unavailable"
    assert [(r.status, r.error_code) for r in _rows(user)] == [("failed", "enqueue_failed")]


def test_a_revoked_token_is_refused_at_once_even_right_after_a_submit(client, auth, user):
    assert client.post(SUBMIT, json={"message": "ok"}, headers=auth).status_code == 202
    revoke_token(ApiToken.query.filter_by(user_id=user.id).one())
    db.session.commit()
    response = client.post(SUBMIT, json={"message": "no"}, headers=auth)
    assert response.status_code == 401
    assert len(_rows(user)) == 1


def test_a_replayed_key_answers_the_first_job_without_a_second_row(client, auth, user):
    headers = {**auth, "Idempotency-Key": "submit-path-1"}
    first = client.post(SUBMIT, json={"message": "k"}, headers=headers)
    again = client.post(SUBMIT, json={"message": "k"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert len(_rows(user)) == 1


def test_a_row_whose_web_process_died_before_rq_is_repaired_by_the_reconciler(
        app, user, redis, monkeypatch):
    """Committed as queued, never pushed (the process died in between): after RECOVER_AFTER
    the reconciler finds no RQ job and re-enqueues it (the task is idempotent)."""
    from webapp.jobs import dispatch, reconcile, service

    monkeypatch.setitem(app.config, "RECOVER_AFTER", 0.0)
    task = get_task("countdown")
    job = service._insert(task, {"steps": 1}, user.id, None, None, dispatch.admission(user))
    assert not Job.exists(job.rq_id, connection=redis)
    assert reconcile.Pass().run()["lost_requeued"] == 1
    assert Job.exists(job.rq_id, connection=redis)
    assert [r.status for r in _rows(user)] == ["queued"]
