"""The OpenAPI 3.1 document of /api/v1, built from the code it describes.

Request bodies are the pydantic models' own JSON Schemas (each task's parameters, the project
input) with what their validators and the configuration add on top (choices, limits), so the
document follows the code. tests/test_openapi.py checks that every route is in it and fuzzes
the app against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata
from typing import Any

from flask import current_app, jsonify, request

from webapp.api import bp
from webapp.api.openapi_consistency import consistency_paths, consistency_schemas
from webapp.api.openapi_explorer import bulk_operation, explorer_schemas, list_parameters
from webapp.api.openapi_media import media_paths, media_schemas
from webapp.api.openapi_metrics import metrics_paths, metrics_schemas
from webapp.api.openapi_parts import (
    BODY_ERRORS,
    ERRORS,
    error_headers,
    errors,
    items,
    json_content,
    page_param,
    per_page_param,
    response,
)
from webapp.api.openapi_queues import queue_paths, queue_schemas
from webapp.api.openapi_schemas import (
    model_schemas,
    output_schemas,
    project_input,
    ref,
)
from webapp.api.openapi_users import user_paths, user_schemas
from webapp.api.views import MAX_PER_PAGE
from webapp.jobs.idempotency import HEADER as IDEMPOTENCY_HEADER
from webapp.jobs.registry import launchable_tasks
from webapp.projects.schemas import Limits
from webapp.render.outputs import FILES, MIMETYPES


def build_document(config: Mapping[str, Any], base: str = "/api/v1") -> dict[str, Any]:
    """The whole OpenAPI document; `config` supplies the project input limits."""
    schemas = {**output_schemas(), **explorer_schemas(),
               **project_input(Limits.from_config(config)), **user_schemas(),
               **metrics_schemas(), **consistency_schemas(), **queue_schemas(),
               **media_schemas()}
    paths = {
        "/openapi.json": {"get": {
            "operationId": "openapi", "summary": "This document.", "security": [],
            "tags": ["meta"],
            "responses": {"200": response("The OpenAPI document.", {"type": "object"})},
        }},
        **_task_paths(schemas), **_job_paths(), **_project_paths(), **media_paths(),
        **user_paths(),
        **metrics_paths(),
        **consistency_paths(),
        **queue_paths(),
        "/audit": {"get": {
            "operationId": "listAudit", "tags": ["audit"],
            "summary": "Admins: admin actions on other users' jobs and projects, newest first.",
            "parameters": [page_param(), per_page_param(50, 200)],
            "responses": {"200": response("A page of audit events.", ref("AuditPage")),
                          **errors(401, 403, 422)},
        }},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cutroom API",
            "version": metadata.version("cutroom"),
            "description": "Start and watch jobs, make video projects and render them. "
                           "Errors are JSON: `{\"error\": {\"code\", \"message\", \"details\"}}`.",
        },
        "servers": [{"url": base}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": _components(schemas),
    }


def _components(schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemas": schemas,
        "responses": {name: response(text, ref("Error"), error_headers(status))
                      for status, (name, text) in ERRORS.items()},
        "parameters": {
            "JobId": {"name": "job_id", "in": "path", "required": True,
                      "schema": {"type": "string", "format": "uuid"}},
            "ProjectId": {"name": "project_id", "in": "path", "required": True,
                          "schema": {"type": "integer", "minimum": 0}},
            "IdempotencyKey": {
                "name": IDEMPOTENCY_HEADER, "in": "header", "required": False,
                "description": "The same key from the same user within "
                               "IDEMPOTENCY_TTL_HOURS answers with the first job.",
                "schema": {"type": "string", "pattern": "^[!-~]{1,200}$"},
            },
        },
        "headers": {
            "Location": {"description": "URL of the new object.", "required": True,
                         "schema": {"type": "string"}},
            "IdempotentReplayed": {
                "description": "Present when an earlier request with the same "
                               f"{IDEMPOTENCY_HEADER} answered.",
                "schema": {"type": "string", "enum": ["true"]},
            },
        },
        "securitySchemes": {"bearerAuth": {
            "type": "http", "scheme": "bearer",
            "description": "An API token: `flask --app wsgi tokens create EMAIL`.",
        }},
    }


def _task_paths(schemas: dict[str, Any]) -> dict[str, Any]:
    """GET /tasks, and one POST per launchable task, its body that task's parameter model."""
    paths: dict[str, Any] = {"/tasks": {"get": {
        "operationId": "listTasks", "summary": "Every task with its parameter schema.",
        "tags": ["tasks"],
        "responses": {"200": response("The tasks.", items(ref("Task"))), **errors(401)},
    }}}
    for task in launchable_tasks():
        for name, schema in model_schemas(task.params).items():
            if schemas.setdefault(name, schema) != schema:
                raise ValueError(f"Two different parameter models are called {name}")
        paths[f"/tasks/{task.name}"] = {"post": _submit_operation(task, task.params.__name__)}
    return paths


def _submit_operation(task, model: str) -> dict[str, Any]:
    return {
        "operationId": "submit" + "".join(p.title() for p in task.name.split("-")),
        "tags": ["tasks"],
        "summary": f"Start a {task.title} job.",
        "description": task.description,
        "parameters": [
            {"name": "project_id", "in": "query", "required": False,
             "description": "One of your projects, to file the job under.",
             "schema": {"type": "integer", "minimum": 1}},
            {"$ref": "#/components/parameters/IdempotencyKey"},
        ],
        "requestBody": {"required": False, "description": "The parameters; an empty body "
                        "means the defaults.", "content": json_content(ref(model))},
        "responses": {
            "202": response("The job, queued.", ref("Job"), _job_created_headers()),
            **errors(401, *BODY_ERRORS, 429, 503),
        },
    }


def _job_created_headers() -> dict[str, Any]:
    return {"Location": {"$ref": "#/components/headers/Location"},
            "Idempotent-Replayed": {"$ref": "#/components/headers/IdempotentReplayed"}}


def _job_paths() -> dict[str, Any]:
    job_id = {"$ref": "#/components/parameters/JobId"}
    job = ref("Job")
    return {
        "/jobs": {"get": {
            "operationId": "listJobs", "tags": ["jobs"],
            "summary": "Your jobs (everyone's for admins), newest first, filtered.",
            "description": "Keyset pages: follow `next` (or pass `next_cursor` as "
                           "`cursor`). `count` is exact up to EXPLORER_COUNT_CAP; beyond "
                           "it `count_capped` is true.",
            "parameters": list_parameters(),
            "responses": {"200": response("A page of jobs.", ref("JobPage")),
                          **errors(401, 422)},
        }},
        "/jobs/bulk": {"post": bulk_operation()},
        "/jobs/{job_id}": {
            "parameters": [job_id],
            "get": {"operationId": "getJob", "tags": ["jobs"], "summary": "One job.",
                    "responses": {"200": response("The job.", job), **errors(401, 404)}},
            "delete": {"operationId": "deleteJob", "tags": ["jobs"],
                       "summary": "Delete a finished, failed, stopped or canceled job.",
                       "responses": {"204": response("Deleted."),
                                     **errors(401, 404, 409, 503)}},
        },
        "/jobs/{job_id}/cancel": {"post": {
            "operationId": "cancelJob", "tags": ["jobs"], "parameters": [job_id],
            "summary": "Cancel a waiting job, or ask a running one to stop.",
            "responses": {"200": response("Canceled.", job),
                          "202": response("Asked to stop (`cancel_requested`).", job),
                          **errors(401, 404, 409, 503)},
        }},
        "/jobs/{job_id}/retry": {"post": {
            "operationId": "retryJob", "tags": ["jobs"], "parameters": [job_id],
            "summary": "Run a failed, stopped or canceled job again, under the same id.",
            "responses": {"202": response("The job, queued again.", job),
                          **errors(401, 404, 409, 429, 503)},
        }},
        "/jobs/{job_id}/files/{name}": {"get": _file_operation(job_id)},
    }


def _file_operation(job_id: Mapping[str, Any]) -> dict[str, Any]:
    binary = {mimetype: {} for mimetype in MIMETYPES.values()}
    return {
        "operationId": "getJobFile", "tags": ["jobs"],
        "summary": "A file of a finished render: the video, subtitles or thumbnail.",
        "parameters": [
            job_id,
            {"name": "name", "in": "path", "required": True,
             "schema": {"type": "string", "enum": list(FILES)}},
            {"name": "download", "in": "query", "required": False,
             "description": "`1` to save it as an attachment.",
             "schema": {"type": "string", "enum": ["1"]}},
            {"name": "Range", "in": "header", "required": False,
             "schema": {"type": "string", "examples": ["bytes=0-1023"]}},
        ],
        "responses": {
            "200": {"description": "The file.", "content": binary},
            "206": {"description": "Part of the file.", "content": binary, "headers": {
                "Content-Range": {"required": True, "schema": {"type": "string"}}}},
            "304": {"description": "Not modified (`If-None-Match`, `If-Modified-Since`)."},
            "307": {"description": "With `MEDIA_REDIRECT=1`: the file is at a presigned URL "
                                   "valid for `MEDIA_REDIRECT_TTL` seconds (it honours Range).",
                    "headers": {"Location": {"required": True, "schema": {"type": "string"}}}},
            **errors(401, 404, 416, 503),
        },
    }


def _project_paths() -> dict[str, Any]:
    project_id = {"$ref": "#/components/parameters/ProjectId"}
    project = ref("Project")
    return {
        "/projects": {
            "get": {"operationId": "listProjects", "tags": ["projects"],
                    "summary": "Your projects (everyone's for admins), newest first.",
                    "parameters": [page_param(), per_page_param(20, MAX_PER_PAGE)],
                    "responses": {"200": response("A page of projects.", ref("ProjectPage")),
                                  **errors(401, 422)}},
            "post": {"operationId": "createProject", "tags": ["projects"],
                     "summary": "Create a project: a title, and a topic or a script.",
                     "requestBody": {"required": True,
                                     "content": json_content(ref("ProjectCreate"))},
                     "responses": {
                         "201": response("The project.", project, {
                             "Location": {"$ref": "#/components/headers/Location"}}),
                         **errors(401, *BODY_ERRORS, 429)}},
        },
        "/projects/{project_id}": {
            "parameters": [project_id],
            "get": {"operationId": "getProject", "tags": ["projects"],
                    "summary": "One project, with its latest renders and video.",
                    "responses": {"200": response("The project.", project),
                                  **errors(401, 404)}},
            "patch": {"operationId": "updateProject", "tags": ["projects"],
                      "summary": "Change the fields sent; `script: null` clears the script.",
                      "requestBody": {"required": False, "content": json_content(ref("ProjectIn"))},
                      "responses": {"200": response("The project.", project),
                                    **errors(401, 404, *BODY_ERRORS)}},
            "delete": {"operationId": "deleteProject", "tags": ["projects"],
                       "summary": "Delete a project, its jobs and files (stops its renders).",
                       "responses": {"204": response("Deleted."),
                                     **errors(401, 404, 503)}},
        },
        "/projects/{project_id}/render": {"post": {
            "operationId": "renderProject", "tags": ["projects"], "parameters": [
                project_id, {"$ref": "#/components/parameters/IdempotencyKey"}],
            "summary": "Start a render: one job per stage.",
            "responses": {
                "202": response("The render and its stage jobs.", ref("Render"),
                                 _job_created_headers()),
                **errors(401, 404, 409, 422, 429, 503)},
        }},
    }


@bp.get("/openapi.json")
def openapi_document():
    """This API's OpenAPI document (served without authentication)."""
    return jsonify(build_document(current_app.config, request.script_root + bp.url_prefix))
