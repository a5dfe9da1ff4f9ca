"""Reading API input: the JSON body, query arguments, and objects the caller may see."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import BadRequest

from webapp.api.auth import api_user
from webapp.errors import ApiError
from webapp.jobs import queries
from webapp.models import BackgroundJob
from webapp.pagination import MAX_PAGE


def json_body() -> Any:
    """The request's JSON; an empty body means no parameters."""
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise ApiError(415, "Send the parameters as JSON with 'Content-Type: application/json'.")
    try:
        body = request.get_json()
    except BadRequest:
        raise ApiError(400, "The request body is not valid JSON.", "malformed_json") from None
    except RecursionError:
        body = None  # deeper than the parser goes: certainly deeper than the limit
    else:
        limit = current_app.config["MAX_JSON_DEPTH"]
        if json_depth(body, limit) <= limit:
            return body
    limit = current_app.config["MAX_JSON_DEPTH"]
    message = f"The JSON body is nested more than {limit} levels deep."
    raise ApiError(422, message, details=[{"field": "(body)", "message": message}])


def json_depth(value: Any, stop: int) -> int:
    """How deeply lists and objects nest in `value` (a bare value is 0); counts to stop + 1."""
    depth, level = 0, [value]
    while level and depth <= stop:
        children = []
        for item in level:
            if isinstance(item, dict):
                children.extend(item.values())
            elif isinstance(item, list):
                children.extend(item)
        if not children and not any(isinstance(i, dict | list) for i in level):
            break
        depth += 1
        level = children
    return depth


def job_or_404(job_id: uuid.UUID) -> BackgroundJob:
    job = queries.get_job(api_user(), job_id)
    if job is None:
        raise ApiError(404, "No such job.")
    return job


def page_arg() -> int:
    """?page=, 1 to MAX_PAGE; 422 outside it (HTML pages clamp instead: page_number)."""
    return int_arg("page", 1, 1, MAX_PAGE)


def text_arg(name: str) -> str | None:
    """A query argument; None when absent or empty; 422 with a NUL, which no query can use."""
    value = request.args.get(name) or None
    if value is not None and "\x00" in value:
        raise ApiError(422, f"'{name}' must not contain NUL characters.",
                       details=[{"field": name, "message": "Must not contain NUL characters."}])
    return value


def int_arg(name: str, default: int, low: int, high: int | None = None) -> int:
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
