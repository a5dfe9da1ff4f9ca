"""Who is calling the API: a bearer token, or the signed-in session (which, being a cookie,
also needs the CSRF token on a state-changing call)."""

from __future__ import annotations

from flask import g, request
from flask_login import current_user

from webapp.api import bp
from webapp.auth.services import user_for_token
from webapp.errors import ApiError
from webapp.models import User
from webapp.security import require_csrf_token

# Endpoints anyone may read: the API's own documentation.
PUBLIC = frozenset({"api.openapi_document"})


@bp.before_request
def authenticate() -> None:
    """Set g.api_user, or answer 401; a bad token never falls back to the session. The CSRF
    check comes after, so a call with no credentials is told 401, not 400."""
    if request.endpoint in PUBLIC:
        return
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401, "Use 'Authorization: Bearer <token>'.")
        user = user_for_token(secret.strip())
        if user is None:
            raise ApiError(401, "The API token is invalid or revoked.")
        g.api_user = user
        return
    if current_user.is_authenticated:
        require_csrf_token()
        g.api_user = current_user._get_current_object()
        return
    raise ApiError(401, "Sign in or send 'Authorization: Bearer <token>'.")


def api_user() -> User:
    """The authenticated caller of this API request."""
    return g.api_user
