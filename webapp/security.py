"""Protections for browsers: CSRF tokens, cookies, security headers.

- CSRF: every state-changing request checks a token (a hidden form field, or the X-CSRFToken
  header that htmx sends from <body hx-headers>). The API checks it after authenticating
  (webapp/api/auth.py): a call with no credentials is a 401 first, and one that authenticates
  with a bearer token needs none, since no cookie rides along with it to forge.
- Cookies: HttpOnly, SameSite=Lax, and Secure whenever the request came over HTTPS; a
  signed-in session's cookie expires when its server-side session does (webapp/sessions.py),
  however often it is re-issued. Sign-in throttling lives in webapp/auth/throttle.py.
- Headers: a Content-Security-Policy without inline script (rq-dashboard's pages: only its
  own inline script, by nonce), nosniff, a referrer policy, frame denial, and HSTS over HTTPS.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from flask import Flask, Response, current_app, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp.errors import API_PREFIX, show_error
from webapp.extensions import csrf
from webapp.navigation import origin_page

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; "
       "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


# Where a signed-in session keeps its absolute expiry (a Unix time), set at sign-in.
SESSION_EXPIRES_KEY = "_expires"


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request itself came over HTTPS, and gives
    a signed-in session's cookie its fixed expiry, so re-issuing it (a flash, say) never
    extends it."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        expires = session.get(SESSION_EXPIRES_KEY)
        if isinstance(expires, int):
            return datetime.fromtimestamp(expires, UTC)
        return super().get_expiration_time(app, session)


def rq_dashboard_csp(nonce: str, style_hashes: Iterable[str]) -> str:
    """The policy of an rq-dashboard page (admins only): its inline script by nonce,
    'unsafe-eval' because its underscore templates compile with new Function, and its
    inline style attributes by hash. No inline event handler or other inline script runs."""
    styles = "".join(f" '{digest}'" for digest in style_hashes)
    return CSP.replace("script-src 'self'", f"script-src 'self' 'nonce-{nonce}' 'unsafe-eval'"
                       ).replace("style-src 'self'", f"style-src 'self' 'unsafe-hashes'{styles}")


def init_app(app: Flask) -> None:
    """Install CSRF checks, the cookie policy and the headers."""
    csrf.init_app(app)
    app.session_interface = HttpsAwareSessionInterface()
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.before_request(check_csrf)
    app.after_request(_add_headers)
    app.register_error_handler(CSRFError, csrf_failed)
    app.register_error_handler(429, _too_many)


def check_csrf() -> None:
    """Abort with 400 unless this state-changing request carries a valid CSRF token; API
    paths are checked by the API once it knows who calls (require_csrf_token)."""
    if request.path.startswith(API_PREFIX):
        return
    require_csrf_token()


def require_csrf_token() -> None:
    """Abort with 400 unless this request is safe or carries a valid CSRF token."""
    if not current_app.config["WTF_CSRF_ENABLED"] or request.method in SAFE_METHODS:
        return
    csrf.protect()


CSRF_MESSAGE = ("The security token of this request is missing or stale; reload the page and "
                "try again.")


def csrf_failed(exc: CSRFError | None = None):
    """400 for a missing or stale CSRF token: for htmx, a message with a link that reloads
    the page (which brings a fresh token); a blueprint may answer its own forms."""
    return show_error(400, CSRF_MESSAGE, code="csrf_failed", page="errors/csrf.html",
                      link=("Reload the page", origin_page(url_for("dashboard.home"))))


def _too_many(exc):
    # For a 429 raised with abort(); sign-in answers its own (webapp/auth/throttle.py).
    return show_error(429, "Too many attempts. Wait a few minutes, then try again.",
                      code="too_many_requests", page="errors/too_many.html")


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    # rq-dashboard's pages come with their own (webapp/rq_admin/pages.py).
    response.headers.setdefault("Content-Security-Policy", CSP)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=63072000; includeSubDomains")
    return response
