"""The OpenAPI path and shape of /consistency (how far PostgreSQL and RQ agree)."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi_parts import errors, response
from webapp.api.openapi_schemas import TEXT, TIME, _nullable, _object, ref
from webapp.jobs.doctor import PROBLEMS

COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
COUNT = {"type": "integer", "minimum": 0}
SECONDS = {"type": "number", "minimum": 0}
STATUS = _nullable(TEXT)


def consistency_schemas() -> dict[str, Any]:
    kind = {"type": "string", "enum": list(PROBLEMS)}
    return {
        "Disagreement": _object({"job_id": TEXT, "row_status": STATUS, "rq_status": STATUS,
                                 "kind": kind, "problem": TEXT}),
        "Consistency": _object({
            "disagreements": _object({
                "count": {**_nullable(COUNT), "description":
                          "Rows and RQ jobs that disagree, as of `checked_at`; null when "
                          "never checked or the check failed (`error`)."},
                "by_kind": {**COUNTS, "propertyNames": kind},
                "jobs": {"type": "array", "maxItems": 50, "items": ref("Disagreement")},
                "checked_at": _nullable(TIME),
                "manual": {"type": "boolean", "description": "Checked by an admin's "
                           "\"check now\", not after a reconciler pass."},
                "error": _nullable(TEXT),
            }),
            "repairs": _object({"since": TIME, "total": COUNT, "by_kind": COUNTS,
                                "housekeeping": COUNTS}),
            "outcome_backlog": {**_nullable(COUNT), "description":
                                "Outcomes waiting in Redis for PostgreSQL; null when Redis "
                                "does not answer."},
            "reconciler": _object({
                "last_pass_started_at": _nullable(TIME), "last_pass_ended_at": _nullable(TIME),
                "age_seconds": _nullable(SECONDS), "interval_seconds": SECONDS,
                "stale_after_seconds": SECONDS, "stale": {"type": "boolean"},
                "broke_off": _nullable(TEXT),
            }),
            "warning": {"type": "boolean",
                        "description": "Whether admins see the warning banner."},
        }),
    }


def consistency_paths() -> dict[str, Any]:
    return {"/consistency": {"get": {
        "operationId": "getConsistency", "tags": ["consistency"],
        "summary": "Admins: rows that disagree with RQ, repairs in the last 24 h by kind, "
                   "outcomes waiting for PostgreSQL, and the reconciler's last pass.",
        "responses": {"200": response("How far PostgreSQL and RQ agree.", ref("Consistency")),
                      **errors(401, 403, 503)},
    }}}

