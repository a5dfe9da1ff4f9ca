"""Where to send the browser: only ever a path on this site."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from flask import Flask, Response, request


def local_path(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback` (no open redirects)."""
    if (target and target.startswith("/") and not target.startswith("//")
            and "\\" not in target and not any(ord(c) < 32 or c == "\x7f" for c in target)):
        return target
    return fallback


def origin_page(fallback: str) -> str:
    """The page of ours this request was made from: htmx names it, a form may carry it as
    `next`, a browser sends it as the Referer; else `fallback`."""
    for candidate in (request.headers.get("HX-Current-URL"), request.form.get("next"),
                      request.referrer):
        parts = urlsplit(candidate or "")
        if parts.netloc and parts.netloc != request.host:
            continue
        path = urlunsplit(("", "", parts.path, parts.query, ""))
        if found := local_path(path, ""):
            return found
    return fallback


def init_app(app: Flask) -> None:
    """Redirects to this site never name a host taken from the request's Host header."""
    app.after_request(_relative_location)


def _relative_location(response: Response) -> Response:
    """Werkzeug builds its own redirects (a missing trailing slash) as absolute URLs from the
    Host header, which a client or a misconfigured proxy controls; make them paths."""
    location = response.headers.get("Location")
    if location and response.status_code in range(300, 400):
        parts = urlsplit(location)
        if parts.netloc and parts.netloc == request.host:
            response.headers["Location"] = urlunsplit(("", "", parts.path or "/", parts.query,
                                                        parts.fragment))
    return response
