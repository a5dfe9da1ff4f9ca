"""The JSON API under /api/v1: everything the dashboard does, for scripts and services."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from webapp.api import (  # noqa: E402,F401
    auth,
    bulk,
    consistency,
    handlers,
    media,
    metrics,
    openapi,
    projects,
    queues,
    users,
    views,
)
