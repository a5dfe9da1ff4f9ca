"""Account settings: the signed-in sessions (revoke one, or sign out everywhere) and the
password change. API tokens have their own page (views.py)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from redis.exceptions import RedisError

from webapp.auth import bp
from webapp.auth.login import begin_session, current_session_id, end_session
from webapp.auth.services import AccountError, check_password, set_password
from webapp.extensions import db
from webapp.ratelimit import get_limits
from webapp.sessions import live_sessions, revoke_all_sessions, revoke_session

MAX_ID = 2**31 - 1  # the id column is a PostgreSQL integer


@bp.get("/settings/sessions")
@login_required
def sessions():
    """The user's live sessions: this one marked, when made and last seen, where, which
    browser."""
    hours = int(current_app.permanent_session_lifetime.total_seconds() // 3600)
    return render_template("settings/sessions.html", sessions=live_sessions(current_user),
                           current_id=current_session_id(), session_hours=hours)


@bp.post("/settings/sessions/<int:session_id>/revoke")
@login_required
def revoke_one_session(session_id: int):
    """End one of the user's sessions; ending this one signs this browser out."""
    if session_id > MAX_ID:
        abort(404)
    if session_id == current_session_id():
        return _signed_out("This browser is signed out.")
    if not revoke_session(current_user, session_id):
        abort(404)
    db.session.commit()
    flash("That session is signed out.")
    return redirect(url_for("auth.sessions"), 303)


@bp.post("/settings/sessions/revoke-all")
@login_required
def sign_out_everywhere():
    """End every session of the user, this one included (API tokens keep working)."""
    revoke_all_sessions(current_user)
    return _signed_out("You are signed out everywhere. API tokens still work: revoke them on "
                       "the API tokens page.")


def _signed_out(message: str):
    end_session()
    db.session.commit()
    flash(message)
    return redirect(url_for("auth.login"), 303)


@bp.get("/settings/password")
@login_required
def password():
    """The password change form."""
    return _password_page()


@bp.post("/settings/password")
@login_required
def change_password():
    """Change the password: every session ends, and this browser gets a fresh one."""
    refused = _password_attempt_refused()
    if refused is not None:
        return refused
    form, user = request.form, current_user._get_current_object()
    new = form.get("new_password", "")
    try:
        if not check_password(user, form.get("current_password", "")):
            raise AccountError("That is not your current password.", "current_password")
        if new != form.get("confirm_password", ""):
            raise AccountError("The two new passwords differ.", "confirm_password")
        set_password(user, new, "new_password")
    except AccountError as exc:
        return _password_page(422, {exc.field: str(exc)})
    begin_session(user)
    db.session.commit()
    flash("Your password is changed and your other sessions are signed out. API tokens still "
          "work.")
    return redirect(url_for("auth.sessions"), 303)


def _password_attempt_refused():
    """Count a password-change attempt (it checks the current password) against the
    per-account limit, so a borrowed session cannot guess it quickly."""
    limit = current_app.config["LOGIN_LIMIT_PAIR"]
    try:
        refused = get_limits().hit(limit, "password-change", str(current_user.id))
    except RedisError:
        return _password_page(503, {"current_password": "Password changes are unavailable "
                                    "for a moment; try again in a minute."}, retry_after=30)
    if refused is None:
        return None
    return _password_page(429, {"current_password": "Too many attempts; try again in "
                                f"{refused.retry_after} seconds."},
                          retry_after=refused.retry_after)


def _password_page(status: int = 200, errors: dict | None = None, retry_after: int | None = None):
    response = current_app.make_response(
        (render_template("settings/password.html", errors=errors or {}), status))
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
