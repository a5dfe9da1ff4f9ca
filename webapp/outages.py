"""PostgreSQL or Redis unreachable: a clear 503 with Retry-After, never a 500 or a hang.

Connections are bounded (webapp/database.py, the Redis client's timeouts), so an outage
reaches here within seconds as an exception; it becomes a styled page for people, the JSON
error shape for API clients, for an htmx poll a 503 that leaves the card as it was (it
tries again at its next poll), and for a button or form htmx posts the message in the
page's alert region. Nothing was half-done: every write commits as one
transaction, and a job's outcome that could not be written waits in Redis (or the row waits
for the reconciler) until PostgreSQL is back.
"""

from __future__ import annotations

import logging

from flask import Flask, make_response, render_template, request
from psycopg import OperationalError as PsycopgOperationalError
from redis.exceptions import RedisError
from sqlalchemy import exc as sa_exc

from webapp.errors import error_response, wants_json
from webapp.extensions import login_manager
from webapp.fragments import error_fragment, wants_error_fragment, wants_fragment

log = logging.getLogger(__name__)

RETRY_AFTER = 5  # seconds: about how long a failover or a restart takes
DATABASE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError,
                   PsycopgOperationalError)
MESSAGES = {
    "database_unavailable": "Cutroom cannot reach its database right now. Nothing you did "
                            "was lost; try again in a few seconds.",
    "queue_unavailable": "Cutroom cannot reach its job queue (Redis) right now. Try again in "
                         "a few seconds.",
}


def init_app(app: Flask) -> None:
    """Answer database and Redis outages with 503 everywhere."""
    for error in DATABASE_ERRORS:
        app.register_error_handler(error, _database_down)
    app.register_error_handler(RedisError, _redis_down)
    app.after_request(_retry_after)


def _retry_after(response):
    """Every 503 (from here, or a view that could not reach the queue) says when to retry."""
    if response.status_code == 503:
        response.headers.setdefault("Retry-After", str(RETRY_AFTER))
    return response


def unavailable_for(exc: BaseException | None):
    """The 503 response if `exc` is a PostgreSQL or Redis outage, else None."""
    if isinstance(exc, DATABASE_ERRORS):
        return _database_down(exc)
    if isinstance(exc, RedisError):
        return _redis_down(exc)
    return None


def _database_down(exc: Exception):
    log.warning("PostgreSQL unreachable during %s %s: %s", request.method, request.path,
                _first_line(exc))
    # Render as no one: templates would load the signed-in user (or refresh it), which needs
    # PostgreSQL. The session itself is discarded at teardown.
    login_manager._update_request_context_with_user()
    return unavailable("database_unavailable")


def _redis_down(exc: RedisError):
    log.warning("Redis unreachable during %s %s: %s", request.method, request.path,
                _first_line(exc))
    return unavailable("queue_unavailable")


def unavailable(code: str, message: str | None = None):
    """The 503 response for this request, in the shape its client wants."""
    message = message or MESSAGES[code]
    if wants_json():
        response = error_response(503, message, code)
    elif wants_fragment() and request.method == "GET":
        # A poll inside the page: keep what is shown, the next poll retries.
        response = make_response(message, 503)
        response.headers["HX-Reswap"] = "none"
    elif wants_error_fragment():
        response = error_fragment(503, message)
    else:
        html = render_template("errors/unavailable.html", message=message)
        response = make_response(html, 503)
    response.headers["Cache-Control"] = "no-store"
    return response


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
