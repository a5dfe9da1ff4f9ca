"""The OpenAPI paths and shapes of /queues and /workers (admins only)."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi_parts import BODY_ERRORS, errors, items, json_content, response
from webapp.api.openapi_schemas import INTEGER, TEXT, TIME, UUID, _nullable, _object, ref

COUNT = {"type": "integer", "minimum": 0}
SECONDS = _nullable({"type": "number", "minimum": 0})


def queue_schemas() -> dict[str, Any]:
    return {
        "Queue": _object({
            "name": TEXT, "paused": {"type": "boolean"},
            "paused_at": _nullable(TIME), "paused_by": _nullable(TEXT),
            "waiting": {**COUNT, "description": "Rows created, queued (held ones included) or "
                                                "deferred."},
            "held": {**COUNT, "description": "Of the waiting: kept back by their owner's "
                                             "max_running_jobs."},
            "scheduled": COUNT, "running": COUNT,
            "failed_24h": {**COUNT, "description": "Rows that failed in the last 24 hours."},
            "oldest_waiting_at": _nullable(TIME), "oldest_waiting_seconds": SECONDS,
            "rq": _object({"waiting": COUNT, "scheduled": COUNT, "running": COUNT}),
            "workers": {**COUNT, "description": "Live workers listening on it."},
        }),
        "Worker": _object({
            "name": TEXT, "hostname": _nullable(TEXT), "pid": _nullable(INTEGER),
            "queues": {"type": "array", "items": TEXT}, "state": TEXT,
            "current_job": _nullable(_object({"id": UUID, "task": TEXT, "url": TEXT})),
            "rq_job_id": _nullable(TEXT), "last_heartbeat": _nullable(TIME),
            "heartbeat_age_seconds": SECONDS, "heartbeat_interval": INTEGER,
            "stale": {"type": "boolean", "description": "No heartbeat for over twice its "
                                                        "heartbeat interval."},
            "rss_bytes": _nullable(COUNT), "horse_rss_bytes": _nullable(COUNT),
            "memory_bytes": _nullable(COUNT), "successful_jobs": COUNT, "failed_jobs": COUNT,
            "started_at": _nullable(TIME),
        }),
    }


def _change(verb: str, summary: str) -> dict[str, Any]:
    return {
        "operationId": f"{verb}Queue", "tags": ["queues"], "summary": summary,
        "parameters": [{"name": "name", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "requestBody": {"required": False, "description": "None: this call takes no "
                        "parameters.", "content": json_content(_object({}))},
        "responses": {"200": response("The queue.", ref("Queue")),
                      **errors(401, 403, 404, *BODY_ERRORS, 503)},
    }


def queue_paths() -> dict[str, Any]:
    return {
        "/queues": {"get": {
            "operationId": "listQueues", "tags": ["queues"],
            "summary": "Admins: every queue's jobs by state, its oldest waiting job, its pause.",
            "responses": {"200": response("The queues.", items(ref("Queue"))),
                          **errors(401, 403, 503)}}},
        "/queues/{name}/pause": {"post": _change(
            "pause", "Admins: pause a queue: workers take no new job from it within a "
                     "second; running jobs finish (audited).")},
        "/queues/{name}/resume": {"post": _change(
            "resume", "Admins: resume a queue (audited).")},
        "/workers": {"get": {
            "operationId": "listWorkers", "tags": ["workers"],
            "summary": "Admins: every live worker, its current job, heartbeat and memory.",
            "responses": {"200": response("The workers.", items(ref("Worker"))),
                          **errors(401, 403, 503)}}},
    }
