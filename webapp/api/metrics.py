"""GET /api/v1/metrics: the numbers of the metrics page, for admins."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import jsonify, request

from webapp.api import bp
from webapp.api.auth import api_user
from webapp.errors import ApiError
from webapp.metrics.queries import DEFAULT_WINDOW, WINDOWS, metrics, to_dict


@bp.get("/metrics")
def get_metrics():
    """Admins: throughput, failure rate, queue wait and run time over ?window=1h|24h|7d."""
    if not api_user().is_admin:
        raise ApiError(403, "Only admins may read the metrics.")
    name = request.args.get("window") or DEFAULT_WINDOW
    window = WINDOWS.get(name)
    if window is None:
        allowed = ", ".join(WINDOWS)
        raise ApiError(422, f"'window' must be one of: {allowed}.",
                       details=[{"field": "window", "message": f"Must be one of: {allowed}."}])
    return jsonify(to_dict(metrics(window, datetime.now(UTC))))
