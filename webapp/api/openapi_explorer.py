"""The OpenAPI parts of the jobs explorer: `GET /jobs`'s filters and keyset pages, and
`POST /jobs/bulk` (webapp/explorer/)."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi_parts import BODY_ERRORS, errors, json_content, per_page_param, response
from webapp.api.openapi_schemas import ref
from webapp.explorer.bulk import ACTIONS, MAX_IDS
from webapp.explorer.filters import MAX_PROJECT_ID, MIN_QUERY, STATUS_VALUES, TEXT_LIMITS

TIME = {"type": "string", "format": "date-time"}
NULLABLE_TEXT = {"anyOf": [{"type": "string"}, {"type": "null"}]}
STATUS = {"type": "string", "enum": list(STATUS_VALUES)}
# name: (schema, description); the same names in the query string and in a bulk filter.
FILTERS: dict[str, tuple[dict[str, Any], str]] = {
    "task": ({"type": "string", "maxLength": TEXT_LIMITS["task"]}, "The task's name."),
    "queue": ({"type": "string", "maxLength": TEXT_LIMITS["queue"]}, "The RQ queue."),
    "user": ({"type": "string", "maxLength": TEXT_LIMITS["user"]},
             "The owner's email (admins; for anyone else, someone else's email matches "
             "nothing)."),
    "project_id": ({"type": "integer", "minimum": 1, "maximum": MAX_PROJECT_ID}, ""),
    "error_code": ({"type": "string", "maxLength": TEXT_LIMITS["error_code"]},
                   "`exception`, `timeout`, `killed`, `abandoned`, `enqueue_failed`, `lost`."),
    "stage": ({"type": "string", "maxLength": TEXT_LIMITS["stage"]},
              "The start of the job's last stage, in any case."),
    "q": ({"type": "string", "minLength": MIN_QUERY, "maxLength": TEXT_LIMITS["q"]},
          "A prefix of the job id, or words of the error message or of a parameter value "
          "(any case, all of them; a word ending in `*` is a prefix): `narration service` "
          "and `narr* serv*` find \"The narration service timed out\"."),
    "created_after": (TIME, "Created at or after (ISO 8601; no zone: UTC; a date alone: "
                            "its midnight)."),
    "created_before": (TIME, "Created before (a date alone: up to the end of that day)."),
    "ended_after": (TIME, "Ended at or after."),
    "ended_before": (TIME, "Ended before."),
}


def list_parameters() -> list[dict[str, Any]]:
    """`GET /jobs`'s query: the filters, the cursor and the page size."""
    params: list[dict[str, Any]] = [{
        "name": "status", "in": "query", "required": False, "style": "form", "explode": True,
        "description": "Repeat for several: `status=failed&status=stopped`.",
        "schema": {"type": "array", "items": STATUS}}]
    params += [{"name": name, "in": "query", "required": False, "description": text,
                "schema": dict(schema)} for name, (schema, text) in FILTERS.items()]
    params += [
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "`next_cursor` (or `prev_cursor`) of the page before; opaque."},
        per_page_param(20, 100),
    ]
    return params


def explorer_schemas() -> dict[str, Any]:
    """JobPage (a keyset page), JobFilter and BulkAction."""
    filter_props: dict[str, Any] = {
        "status": {"anyOf": [STATUS, {"type": "array", "items": STATUS}]},
        **{name: {**schema, "description": text} if text else dict(schema)
           for name, (schema, text) in FILTERS.items()}}
    ids = {"type": "array", "minItems": 1, "maxItems": MAX_IDS,
           "items": {"type": "string", "format": "uuid"}}
    action = {"type": "string", "enum": list(ACTIONS)}
    return {
        "JobPage": {
            "type": "object", "additionalProperties": False,
            "required": ["items", "per_page", "count", "count_capped", "total",
                         "next_cursor", "prev_cursor", "next", "prev"],
            "properties": {
                "items": {"type": "array", "items": ref("Job")},
                "per_page": {"type": "integer"},
                "count": {"type": "integer", "description": "Jobs that match, exactly up to "
                                                            "EXPLORER_COUNT_CAP."},
                "count_capped": {"type": "boolean",
                                 "description": "More than `count` match."},
                "total": {"type": "integer", "description": "The same as `count` (older "
                                                            "clients read this)."},
                "next_cursor": NULLABLE_TEXT, "prev_cursor": NULLABLE_TEXT,
                "next": NULLABLE_TEXT, "prev": NULLABLE_TEXT,
            },
        },
        "JobFilter": {"type": "object", "additionalProperties": False,
                      "description": "The filters of `GET /jobs`; none: every job you see.",
                      "properties": filter_props},
        "BulkAction": {
            "description": "An action and the jobs it is for: `ids`, or all that match "
                           "`filter`.",
            "oneOf": [
                _closed({"action": action, "ids": ids}),
                _closed({"action": action, "filter": ref("JobFilter")}),
            ],
        },
    }


def _closed(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": list(properties),
            "properties": properties}


def bulk_operation() -> dict[str, Any]:
    return {
        "operationId": "bulkJobs", "tags": ["jobs"],
        "summary": "Cancel, retry or delete many jobs, in a background job of its own.",
        "description": "Each job you may see that the action still applies to is canceled "
                       "(or stopped), retried or deleted; the others are skipped, so "
                       "running it again does only what is left. At most 3 of yours at once.",
        "requestBody": {"required": True, "content": json_content(ref("BulkAction"))},
        "responses": {
            "202": response("The bulk job, queued; its result counts what it did.",
                            ref("Job"), {"Location": {"$ref": "#/components/headers/Location"}}),
            **errors(401, *BODY_ERRORS, 429, 503),
        },
    }
