"""Project endpoints: CRUD, render, and the files of finished jobs."""

from __future__ import annotations

import uuid

from flask import jsonify, request, url_for

from webapp.api import bp
from webapp.api.auth import api_user
from webapp.api.inputs import int_arg, job_or_404, json_body, page_arg
from webapp.api.serialize import project_to_dict, render_to_dict
from webapp.errors import ApiError
from webapp.extensions import db
from webapp.jobs import idempotency
from webapp.projects import renders
from webapp.projects import service as projects
from webapp.projects.renders import summarize
from webapp.render import files


def project_or_404(project_id: int):
    project = projects.get_project(api_user(), project_id)
    if project is None:
        raise ApiError(404, "No such project.")
    return project


@bp.get("/projects")
def list_projects():
    """The caller's projects, newest first, paginated."""
    listing = projects.list_projects(api_user(), page_arg(), int_arg("per_page", 20, 1, 100))
    return jsonify({"items": [project_to_dict(p) for p in listing.items], "page": listing.page,
                    "per_page": listing.per_page, "total": listing.total})


@bp.post("/projects")
def create_project():
    """Create a project; 201 with it and its Location."""
    project = projects.create_project(api_user(), json_body())
    db.session.commit()
    response = jsonify(project_to_dict(project, renders=[]))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_project", project_id=project.id)
    return response


@bp.get("/projects/<int:project_id>")
def get_project(project_id: int):
    """One project with its latest renders and video."""
    project = project_or_404(project_id)
    return jsonify(project_to_dict(project, renders.renders_of(project),
                                   renders.latest_video(project)))


@bp.patch("/projects/<int:project_id>")
def update_project(project_id: int):
    """Change some of a project's fields."""
    project = project_or_404(project_id)
    projects.update_project(project, json_body(), api_user())
    db.session.commit()
    return jsonify(project_to_dict(project, renders.renders_of(project),
                                   renders.latest_video(project)))


@bp.delete("/projects/<int:project_id>")
def delete_project(project_id: int):
    """Delete a project, its renders' jobs and its files (running stages are stopped)."""
    project = project_or_404(project_id)
    projects.delete_project(project, api_user())
    db.session.commit()
    return "", 204


@bp.post("/projects/<int:project_id>/render")
def render_project(project_id: int):
    """Start a render: 202 with its stage jobs."""
    project = project_or_404(project_id)
    key = idempotency.check(request.headers.get(idempotency.HEADER))
    stages, replayed = renders.start_render(project, api_user(), idempotency_key=key)
    response = jsonify(render_to_dict(summarize(stages)))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=stages[-1].id)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/jobs/<uuid:job_id>/files/<name>")
def job_file(job_id: uuid.UUID, name: str):
    """A file of a finished job (the video, subtitles, thumbnail); supports Range."""
    response = files.send_job_file(job_or_404(job_id), name)
    if response is None:
        raise ApiError(404, "No such file.")
    return response

