"""The OpenAPI path and shapes of GET /metrics (the metrics page's numbers)."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi_parts import errors, response
from webapp.api.openapi_schemas import INTEGER, TEXT, TIME, _nullable, _object, ref
from webapp.metrics.queries import DEFAULT_WINDOW, WINDOWS

SECONDS = {"type": "number", "minimum": 0}
RATE = {"type": "number", "minimum": 0, "maximum": 1}
_FIGURES = {"finished": INTEGER, "failed": INTEGER, "failure_rate": _nullable(RATE),
            "wait_seconds": ref("MetricDurations"), "run_seconds": ref("MetricDurations")}


def metrics_schemas() -> dict[str, Any]:
    return {
        "MetricDurations": _object({"count": INTEGER, "p50": _nullable(SECONDS),
                                    "p95": _nullable(SECONDS), "mean": _nullable(SECONDS)}),
        "MetricGroup": _object({"name": TEXT, **_FIGURES}),
        "MetricBucket": _object({"start": TIME, **_FIGURES}),
        "Metrics": _object({
            "window": {"type": "string", "enum": list(WINDOWS)},
            "bucket_seconds": INTEGER, "start": TIME, "end": TIME,
            "percentile_error": {"type": "number"},
            "total": ref("MetricGroup"),
            "series": {"type": "array", "items": ref("MetricBucket")},
            "by_task": {"type": "array", "items": ref("MetricGroup")},
            "by_queue": {"type": "array", "items": ref("MetricGroup")},
            "stages": {"type": "array", "items": ref("MetricGroup")},
        }),
    }


def metrics_paths() -> dict[str, Any]:
    return {"/metrics": {"get": {
        "operationId": "getMetrics", "tags": ["metrics"],
        "summary": "Admins: throughput, failure rate, queue wait and run time (p50, p95) of "
                   "the jobs that finished or failed in the window, per bucket, by task, by "
                   "queue and by render stage.",
        "description": "Buckets: 1 minute (1h), 1 hour (24h), 6 hours (7d), aligned to UTC. "
                       "Percentiles are estimated from fixed histogram bins, within "
                       "`percentile_error` (relative) of the exact value.",
        "parameters": [{"name": "window", "in": "query", "required": False,
                        "schema": {"type": "string", "enum": list(WINDOWS),
                                   "default": DEFAULT_WINDOW}}],
        "responses": {"200": response("The window's numbers.", ref("Metrics")),
                      **errors(401, 403, 422)},
    }}}
