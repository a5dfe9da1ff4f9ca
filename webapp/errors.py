"""JSON errors: {"error": {"code", "message", "details"}} with the right status."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.quotas import QuotaExceeded

API_PREFIX = "/api/"

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "invalid_parameters",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answered as JSON with `status`, a stable `code` and a human `message`."""

    def __init__(self, status: int, message: str, code: str | None = None, details: Any = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")
        self.details = details


def error_response(status: int, message: str, code: str | None = None, details: Any = None):
    body: dict[str, Any] = {"code": code or _CODES.get(status, "error"), "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cutroom"'
    return response


def wants_json() -> bool:
    """API paths, and clients that ask for JSON rather than HTML, get JSON errors."""
    if request.path.startswith(API_PREFIX):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes[
        "text/html"
    ]


def register(app: Flask, unavailable_for=lambda exc: None) -> None:
    """Answer errors as JSON on API paths; other paths keep Flask's HTML pages.

    `unavailable_for(exception)` gives the 503 for an outage of PostgreSQL or Redis (None for
    any other exception)."""

    @app.errorhandler(ApiError)
    def handle_api_error(exc: ApiError):
        return error_response(exc.status, exc.message, exc.code, exc.details)

    @app.errorhandler(QuotaExceeded)
    def handle_over_limit(exc: QuotaExceeded):
        if wants_json():
            response = error_response(429, exc.message, "limit_exceeded",
                                      details=[{"field": exc.limit, "message": exc.message}])
        else:
            response = app.make_response(
                (render_template("errors/limit.html", message=exc.message), 429))
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        if not request.path.startswith(API_PREFIX):
            return exc
        response = error_response(exc.code or 500, exc.description or exc.name)
        # Keep what the status needs: Allow on a 405, Content-Range on a 416.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(500)
    def handle_internal_error(exc: InternalServerError):
        # An outage that surfaced while another error page was being made (its layout loads
        # the signed-in user) is still an outage: 503, not 500.
        if outage := unavailable_for(getattr(exc, "original_exception", None)):
            return outage
        if not request.path.startswith(API_PREFIX):
            return exc
        return error_response(500, "Something went wrong on our side; it has been logged.")
