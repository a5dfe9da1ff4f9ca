"""Building blocks of the OpenAPI document: responses, shared errors, paging parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.pagination import MAX_PAGE


def json_content(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": dict(schema)}}


def response(description: str, schema: Mapping[str, Any] | None = None,
              headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = json_content(schema)
    if headers:
        body["headers"] = dict(headers)
    return body


def errors(*statuses: int) -> dict[str, Any]:
    """References to the shared error responses, by status."""
    return {str(status): {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
            for status in statuses}


# status: (component name, when it happens)
ERRORS: dict[int, tuple[str, str]] = {
    400: ("MalformedJson", "`malformed_json`: the body is not valid JSON."),
    401: ("Unauthorized", "`unauthorized`: no credentials, or a wrong or revoked token."),
    403: ("Forbidden", "`forbidden`: only admins may do this."),
    404: ("NotFound", "`not_found`: no such object, or it is not yours."),
    409: ("Conflict", "`conflict`: the object's state does not allow this action."),
    413: ("PayloadTooLarge", "`payload_too_large`: the body is over MAX_REQUEST_BYTES."),
    415: ("UnsupportedMediaType",
          "`unsupported_media_type`: a body that is not `application/json`."),
    416: ("RangeNotSatisfiable", "The `Range` lies outside the file."),
    422: ("InvalidParameters",
          "`invalid_parameters`: bad parameters, query arguments or headers; `details` "
          "names each field."),
    429: ("LimitExceeded",
          "`limit_exceeded`: one of your limits would be passed (`details[0].field` names "
          "it: `submit_rate`, `max_waiting_jobs`, `max_projects`); `Retry-After` says when "
          "to try again where waiting helps."),
    503: ("QueueUnavailable", "`queue_unavailable`, `database_unavailable` or "
                              "`storage_unavailable`: Redis, PostgreSQL or the media store "
                              "is unreachable; try again after `Retry-After` seconds."),
}
BODY_ERRORS = (400, 413, 415, 422)


def error_headers(status: int) -> dict[str, Any] | None:
    if status == 401:
        return {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
    if status in (429, 503):
        return {"Retry-After": {"required": status == 503, "description": "Seconds to wait.",
                                "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
    return None


def items(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["items"], "additionalProperties": False,
            "properties": {"items": {"type": "array", "items": dict(item)}}}


def page_param() -> dict[str, Any]:
    return {"name": "page", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}}


def per_page_param(default: int, maximum: int) -> dict[str, Any]:
    return {"name": "per_page", "in": "query", "required": False,
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default}}
