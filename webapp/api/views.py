"""API endpoints: list tasks, start jobs, read, list, cancel and retry them."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify, request, url_for

from webapp import audit
from webapp.api import bp
from webapp.api.auth import api_user
from webapp.api.inputs import int_arg, job_or_404, json_body, page_arg, text_arg
from webapp.api.serialize import job_to_dict, task_to_dict
from webapp.errors import ApiError
from webapp.explorer import filters, search
from webapp.explorer.cursor import decode
from webapp.extensions import db
from webapp.jobs import idempotency, service
from webapp.jobs.registry import get_task, launchable_tasks
from webapp.models import BackgroundJob
from webapp.projects import service as projects

MAX_PER_PAGE = 100


def _project_arg(user) -> int | None:
    raw = request.args.get("project_id")
    if raw is None or raw == "":
        return None
    digits = raw.isascii() and raw.isdigit() and len(raw) <= 10
    project = projects.get_project(user, int(raw)) if digits else None
    if project is None:
        raise ApiError(422, "No such project.",
                       details=[{"field": "project_id", "message": "No such project."}])
    return project.id


@bp.get("/tasks")
def list_tasks():
    """Every task with its parameter schema."""
    return jsonify({"items": [task_to_dict(t) for t in launchable_tasks()]})


@bp.post("/tasks/<name>")
def submit_task(name: str):
    """Start a job; 202 with the job and its Location."""
    task = get_task(name)
    if task is None:
        raise ApiError(404, f"No task called {name!r}.")
    if not task.launchable:
        raise ApiError(404, task.extra.get("not_launchable") or (
            f"{name!r} runs only as a stage of a project render: "
            "POST /api/v1/projects/<id>/render."))
    user = api_user()
    params = json_body()
    project_id = _project_arg(user)
    key = idempotency.check(request.headers.get(idempotency.HEADER))
    job, replayed = service.submit(task, params, user, project_id=project_id,
                                   idempotency_key=key)
    response = jsonify(job_to_dict(job))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/jobs/<uuid:job_id>")
def get_job(job_id: uuid.UUID):
    """One job."""
    return jsonify(job_to_dict(job_or_404(job_id)))


@bp.get("/jobs")
def list_jobs():
    """The caller's jobs (everyone's for admins), newest first, filtered; keyset pages."""
    job_filter = filters.from_args(request.args)
    cursor = decode(text_arg("cursor"))
    if page_arg() != 1:
        raise ApiError(422, "Pages are cursors: follow 'next', or pass 'next_cursor' as "
                            "'cursor'.", details=[{"field": "page", "message": "Only page 1; "
                                                   "use cursor for the pages after it."}])
    per_page = int_arg("per_page", 20, 1, MAX_PER_PAGE)
    listing = search.explore(api_user(), job_filter, cursor, per_page)

    def link(target: str | None) -> str | None:
        return target and url_for("api.list_jobs", **job_filter.to_args(), per_page=per_page,
                                  cursor=target)

    page = listing.page
    return jsonify({
        "items": [job_to_dict(j) for j in page.items],
        "per_page": per_page,
        "count": listing.count,
        "count_capped": listing.capped,
        "total": listing.count,
        "next_cursor": page.next_cursor,
        "prev_cursor": page.prev_cursor,
        "next": link(page.next_cursor),
        "prev": link(page.prev_cursor),
    })


def _act(job_id: uuid.UUID, name: str, action) -> tuple[BackgroundJob, Any]:
    """Run a job action; the service audits it when an admin acts on someone else's job
    (a refusal, 409 or 503, is answered by webapp/api/handlers.py and audits nothing)."""
    job = job_or_404(job_id)
    outcome = action(job, api_user())
    if name != "delete":
        db.session.refresh(job)
    return job, outcome


@bp.post("/jobs/<uuid:job_id>/cancel")
def cancel_job(job_id: uuid.UUID):
    """Cancel a waiting job (200) or ask a running one to stop (202)."""
    job, outcome = _act(job_id, "cancel", service.cancel)
    return jsonify(job_to_dict(job)), 200 if outcome is service.CancelResult.CANCELED else 202


@bp.post("/jobs/<uuid:job_id>/retry")
def retry_job(job_id: uuid.UUID):
    """Run a failed, stopped or canceled job again (202)."""
    job, _ = _act(job_id, "retry", service.retry)
    return jsonify(job_to_dict(job)), 202


@bp.delete("/jobs/<uuid:job_id>")
def delete_job(job_id: uuid.UUID):
    """Delete a finished, failed, stopped or canceled job (204)."""
    _act(job_id, "delete", service.delete)
    return "", 204


@bp.get("/audit")
def audit_log():
    """Admins: the audit log of admin actions on other users' things, newest first."""
    if not api_user().is_admin:
        raise ApiError(403, "Only admins may read the audit log.")
    listing = audit.recent(page_arg(), int_arg("per_page", 50, 1, 200))
    return jsonify({"items": [{"id": e.id, "at": e.at.isoformat(), "actor_id": e.actor_id,
                               "actor_email": e.actor_email, "action": e.action,
                               "target_type": e.target_type, "target_id": e.target_id,
                               "owner_id": e.owner_id, "detail": e.detail}
                              for e in listing.items],
                    "page": listing.page, "per_page": listing.per_page, "total": listing.total})
