"""Metrics: the admins' charts at /console/metrics (and their numbers at GET /api/v1/metrics,
webapp/api/metrics.py), and /metrics for Prometheus."""

from flask import Blueprint

bp = Blueprint("metrics", __name__)

from webapp.metrics import prometheus, views  # noqa: E402,F401
