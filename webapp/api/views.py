"""API endpoints: list tasks, start jobs, read, list, cancel and retry them."""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify, request, url_for
from werkzeug.exceptions import BadRequest

from webapp.api import bp
from webapp.api.auth import api_user
from webapp.api.errors import ApiError
from webapp.api.serialize import job_to_dict, task_to_dict
from webapp.extensions import db
from webapp.jobs import queries, service
from webapp.jobs.registry import ParamsError, all_tasks, get_task
from webapp.models import STATUSES, BackgroundJob

MAX_PER_PAGE = 100


def _json_body() -> Any:
    """The request's JSON; an empty body means no parameters."""
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise ApiError(415, "Send the parameters as JSON with 'Content-Type: application/json'.")
    try:
        return request.get_json()
    except BadRequest:
        raise ApiError(400, "The request body is not valid JSON.", "malformed_json") from None


def _job_or_404(job_id: uuid.UUID) -> BackgroundJob:
    job = queries.get_job(api_user(), job_id)
    if job is None:
        raise ApiError(404, "No such job.")
    return job


def _int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(422, f"'{name}' must be an integer {limit}.",
                       details=[{"field": name, "message": f"Must be an integer {limit}."}])
    return value


def _project_arg(user) -> int | None:
    raw = request.args.get("project_id")
    if raw is None or raw == "":
        return None
    project = queries.get_project(user, int(raw)) if raw.isdigit() and len(raw) < 10 else None
    if project is None:
        raise ApiError(422, "No such project.",
                       details=[{"field": "project_id", "message": "No such project."}])
    return project.id


@bp.get("/tasks")
def list_tasks():
    """Every task with its parameter schema."""
    return jsonify({"items": [task_to_dict(t) for t in all_tasks()]})


@bp.post("/tasks/<name>")
def submit_task(name: str):
    """Start a job; 202 with the job and its Location."""
    task = get_task(name)
    if task is None:
        raise ApiError(404, f"No task called {name!r}.")
    user = api_user()
    params = _json_body()
    project_id = _project_arg(user)
    try:
        job = service.submit(task, params, user, project_id=project_id)
    except ParamsError as exc:
        raise ApiError(422, str(exc), details=exc.details) from None
    except service.QueueUnavailable as exc:
        raise ApiError(503, str(exc), "queue_unavailable") from None
    db.session.refresh(job)
    response = jsonify(job_to_dict(job))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    return response


@bp.get("/jobs/<uuid:job_id>")
def get_job(job_id: uuid.UUID):
    """One job."""
    return jsonify(job_to_dict(_job_or_404(job_id)))


@bp.get("/jobs")
def list_jobs():
    """The caller's jobs, newest first; filter by status and task; paginated."""
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in STATUSES}:
        allowed = ", ".join(s.value for s in STATUSES)
        raise ApiError(422, f"'status' must be one of: {allowed}.",
                       details=[{"field": "status", "message": f"Must be one of: {allowed}."}])
    task = request.args.get("task") or None
    page = _int_arg("page", 1, 1)
    per_page = _int_arg("per_page", 20, 1, MAX_PER_PAGE)
    listing = queries.list_jobs(api_user(), page=page, per_page=per_page, status=status,
                                task=task)

    def link(target: int) -> str:
        return url_for("api.list_jobs", page=target, per_page=per_page, status=status, task=task)

    return jsonify({
        "items": [job_to_dict(j) for j in listing.items],
        "page": listing.page,
        "per_page": listing.per_page,
        "total": listing.total,
        "pages": listing.pages,
        "next": link(page + 1) if listing.has_next else None,
        "prev": link(page - 1) if listing.has_prev else None,
    })


def _act(job_id: uuid.UUID, action) -> tuple[BackgroundJob, Any]:
    job = _job_or_404(job_id)
    try:
        outcome = action(job)
    except service.JobConflict as exc:
        raise ApiError(409, str(exc)) from None
    except service.QueueUnavailable as exc:
        raise ApiError(503, str(exc), "queue_unavailable") from None
    db.session.refresh(job)
    return job, outcome


@bp.post("/jobs/<uuid:job_id>/cancel")
def cancel_job(job_id: uuid.UUID):
    """Cancel a waiting job (200) or ask a running one to stop (202)."""
    job, outcome = _act(job_id, service.cancel)
    return jsonify(job_to_dict(job)), 200 if outcome == "canceled" else 202


@bp.post("/jobs/<uuid:job_id>/retry")
def retry_job(job_id: uuid.UUID):
    """Run a failed, stopped or canceled job again (202)."""
    job, _ = _act(job_id, service.retry)
    return jsonify(job_to_dict(job)), 202
