"""Flask-Login wiring: the session cookie names a server-side session (webapp/sessions.py),
and a cookie counts only while that session is live.

The cookie keeps Flask-Login's user id beside the session's secret and its absolute expiry.
Sign-in starts a new cookie session (the old one, its CSRF token with it, is dropped), so a
cookie saved before sign-in or sign-out is worth nothing after.
"""

from __future__ import annotations

from flask import current_app, g, redirect, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user

from webapp.errors import error_response, show_error, wants_json
from webapp.fragments import wants_error_fragment
from webapp.models import User
from webapp.navigation import origin_page
from webapp.security import SESSION_EXPIRES_KEY
from webapp.sessions import revoke_session, start_session, user_for_session

SESSION_SECRET_KEY = "_session"
_SIGN_IN_KEYS = ("_user_id", "_fresh", "_id", SESSION_SECRET_KEY, SESSION_EXPIRES_KEY)


def init_login(manager: LoginManager) -> None:
    """Configure the login manager for this app."""
    manager.login_view = "auth.login"
    manager.login_message = "Sign in to continue."

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        found = user_for_session(user_id, session.get(SESSION_SECRET_KEY))
        if found is None:
            # Signed out, revoked or expired: drop the dead sign-in from the cookie too.
            for key in _SIGN_IN_KEYS:
                session.pop(key, None)
            return None
        user, g.user_session_id = found
        return user

    @manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            return error_response(401, "Sign in to continue.")
        if request.method == "GET" and not wants_error_fragment():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), 303)
        # A button, a form or a poll of a page whose session has ended: say so there, with
        # a way back to that page through the sign-in form.
        back = origin_page(url_for("dashboard.home"))
        return show_error(401, "You are signed out (the session ended or was signed out "
                          "elsewhere).", link=("Sign in again", url_for("auth.login", next=back)))


def begin_session(user: User) -> None:
    """Sign `user` in on a new server-side session, in a new cookie session with a new CSRF
    token; the caller commits."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the old session's token here
    record, secret = start_session(user, current_app.permanent_session_lifetime,
                                   request.remote_addr, request.user_agent.string)
    session[SESSION_SECRET_KEY] = secret
    session[SESSION_EXPIRES_KEY] = int(record.expires_at.timestamp())
    login_user(user)
    g.user_session_id = record.id


def current_session_id() -> int | None:
    """The id of the session this request is signed in with."""
    return g.get("user_session_id") if current_user.is_authenticated else None


def end_session() -> None:
    """Sign this browser out: its server-side session ends for good; the caller commits."""
    if (session_id := current_session_id()) is not None:
        revoke_session(current_user, session_id)
    logout_user()
    session.clear()
