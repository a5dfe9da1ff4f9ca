"""The API blueprint's error handlers (webapp/api/handlers.py): whichever view a service
refuses in, the refusal is the same JSON error, status and Retry-After."""

import pytest

from tests.support import make_job, make_token, make_user
from webapp.api import users as api_users
from webapp.extensions import db
from webapp.jobs import idempotency, service
from webapp.models import AuditEvent, Project
from webapp.outages import RETRY_AFTER
from webapp.projects import renders
from webapp.projects import service as projects
from webapp.validation import ParamsError

DETAILS = [{"field": "title", "message": "Too long."}]
REFUSALS = {
    "params": (ParamsError(DETAILS), 422,
               {"code": "invalid_parameters", "message": "Invalid parameters: title",
                "details": DETAILS}),
    "key_reused": (idempotency.KeyReused(DETAILS), 422,
                   {"code": "invalid_parameters", "message": "Invalid parameters: title",
                    "details": DETAILS}),
    "job_conflict": (service.JobConflict("Not now."), 409,
                     {"code": "conflict", "message": "Not now."}),
    "render_conflict": (renders.RenderConflict("Already rendering."), 409,
                        {"code": "conflict", "message": "Already rendering."}),
    "queue": (service.QueueUnavailable("No queue."), 503,
              {"code": "queue_unavailable", "message": "No queue."}),
}
# (method, path, where the view's service call lives, which refusals it can meet)
CALLS = [
    ("post", "/api/v1/tasks/countdown", (service, "submit"), ["params", "key_reused", "queue"]),
    ("post", "/api/v1/jobs/{job}/cancel", (service, "cancel"), ["job_conflict", "queue"]),
    ("post", "/api/v1/jobs/{job}/retry", (service, "retry"), ["job_conflict", "queue"]),
    ("delete", "/api/v1/jobs/{job}", (service, "delete"), ["job_conflict", "queue"]),
    ("post", "/api/v1/projects", (projects, "create_project"), ["params"]),
    ("patch", "/api/v1/projects/{project}", (projects, "update_project"), ["params"]),
    ("delete", "/api/v1/projects/{project}", (projects, "delete_project"), ["queue"]),
    ("post", "/api/v1/projects/{project}/render", (renders, "start_render"),
     ["params", "key_reused", "render_conflict", "queue"]),
    ("patch", "/api/v1/users/{user}", (api_users, "change_limits"), ["params"]),
]


def _raiser(exc):
    def refuse(*args, **kwargs):
        raise exc
    return refuse


@pytest.mark.parametrize(("method", "path", "target", "refusal"), [
    pytest.param(method, path, target, refusal, id=f"{method} {path} {refusal}")
    for method, path, target, refusals in CALLS for refusal in refusals])
def test_each_refusal_is_the_same_json_error_everywhere(client, db_session, monkeypatch, method,
                                                        path, target, refusal):
    admin = make_user(admin=True)
    job = make_job(admin, status="failed")
    project = Project(user_id=admin.id, title="T", topic="Moons", voice="silent", theme={})
    db.session.add(project)
    db.session.commit()
    monkeypatch.setattr(*target, _raiser(REFUSALS[refusal][0]))
    url = path.format(job=job.id, project=project.id, user=admin.id)
    body = {"limits": {}} if "users" in path else {}
    response = getattr(client, method)(url, json=body,
                                       headers={"Authorization": f"Bearer {make_token(admin)}"})
    _, status, error = REFUSALS[refusal]
    assert (response.status_code, response.get_json()) == (status, {"error": error})
    assert response.headers.get("Retry-After") == (str(RETRY_AFTER) if status == 503 else None)


def test_a_refused_admin_action_is_not_audited(client, db_session):
    owner, admin = make_user(), make_user(admin=True)
    done = make_job(owner, status="finished")
    headers = {"Authorization": f"Bearer {make_token(admin)}"}
    assert client.post(f"/api/v1/jobs/{done.id}/cancel", headers=headers).status_code == 409
    assert client.delete(f"/api/v1/jobs/{done.id}", headers=headers).status_code == 204
    assert [e.action for e in AuditEvent.query.all()] == ["job.delete"]
