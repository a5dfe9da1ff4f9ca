"""Errors with the right status, in the shape each client wants: JSON for the API
({"error": {"code", "message", "details"}}), for htmx a message in the page's alert region
(webapp/fragments.py), for a browser a page that says what happened."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from webapp.fragments import error_fragment, wants_error_fragment
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

# For people: what an error page says when the code that refused said nothing more.
TITLES = {400: "Bad request", 401: "Signed out", 403: "No access", 404: "Not found",
          405: "Not allowed here", 413: "Too large", 429: "Too many requests",
          500: "Something went wrong", 503: "Temporarily unavailable"}
MESSAGES = {
    400: "The request could not be understood; reload the page and try again.",
    403: "You do not have access to this.",
    404: "This page or item does not exist; it may have been deleted.",
    405: "That action is not available here.",
    413: "That is too large to send.",
    500: "Something went wrong on our side; it has been logged. Try again in a moment.",
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


def show_error(status: int, message: str, *, code: str | None = None,
               link: tuple[str, str] | None = None, page: str = "errors/page.html") -> Response:
    """The error for this request, with `status`: JSON for API clients, for an htmx request
    from inside a page `message` in its alert region, else the whole `page` template (given
    `title`, `message` and the (text, URL) `link`)."""
    if wants_json():
        return error_response(status, message, code)
    if wants_error_fragment():
        return error_fragment(status, message, link)
    html = render_template(page, title=TITLES.get(status, "Error"), message=message, link=link)
    return make_response(html, status)


def _message(exc: HTTPException) -> str:
    """What the code that raised `exc` said, or what people are told for its status."""
    if exc.description and exc.description != type(exc).description:
        return exc.description
    return MESSAGES.get(exc.code or 500, exc.description or exc.name)


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
            response = show_error(429, exc.message, page="errors/limit.html")
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        return http_error(exc)

    @app.errorhandler(500)
    def handle_internal_error(exc: InternalServerError):
        # An outage that surfaced while another error page was being made (its layout loads
        # the signed-in user) is still an outage: 503, not 500.
        if outage := unavailable_for(getattr(exc, "original_exception", None)):
            return outage
        if wants_error_fragment() and not wants_json():
            return error_fragment(500, MESSAGES[500])
        if not request.path.startswith(API_PREFIX):
            return exc  # Flask's own page: ours needs the templates and the signed-in user
        return error_response(500, "Something went wrong on our side; it has been logged.")


def http_error(exc: HTTPException):
    """A 4xx (or a 503 raised with abort) as JSON, an htmx alert or a page, keeping the
    headers its status needs: Allow on a 405, Content-Range on a 416, Retry-After."""
    if exc.code is None or exc.code < 400 or exc.response is not None:
        return exc
    if request.path.startswith(API_PREFIX):
        response = error_response(exc.code, exc.description or exc.name)
    else:
        response = show_error(exc.code, _message(exc))
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response
