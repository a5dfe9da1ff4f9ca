"""Sign-in and sign-out pages, and the API tokens page."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError

from webapp.auth import bp, throttle
from webapp.auth.login import begin_session, end_session
from webapp.auth.services import (
    MAX_PASSWORD_LENGTH,
    AccountError,
    authenticate,
)
from webapp.auth.services import (
    create_token as make_token,
)
from webapp.auth.services import (
    revoke_token as revoke,
)
from webapp.errors import error_response, wants_json
from webapp.extensions import db
from webapp.models import ApiToken
from webapp.navigation import local_path
from webapp.security import csrf_failed

WRONG_PASSWORD = "Wrong email or password."


def safe_next(target: str | None) -> str:
    """A local path to return to after signing in; anything else goes home."""
    return local_path(target, url_for("dashboard.home"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on POST count the attempt, then check the password."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")), 303)
    if request.method == "GET":
        return _login_page()
    email = request.form.get("email", "")[:254]
    refused = throttle.admit(email)
    if refused is not None:
        return _login_page(email, refused.message, refused.status, refused.retry_after)
    user = authenticate(email, request.form.get("password", "")[:MAX_PASSWORD_LENGTH])
    if user is None:
        return _login_page(email, WRONG_PASSWORD, 401)
    begin_session(user)
    db.session.commit()
    response = redirect(safe_next(request.form.get("next")), 303)
    throttle.signed_in(email, response)
    return response


@bp.errorhandler(CSRFError)
def stale_form(exc: CSRFError):
    """A sign-in form whose token went stale (its cookie expired, another tab signed in or
    out) comes back ready to use, with a new token; other forms get the usual answer."""
    if request.endpoint != "auth.login" or wants_json():
        return csrf_failed(exc)
    return _login_page(request.form.get("email", "")[:254],
                       "This sign-in form had expired; sign in again.", 400)


def _login_page(email: str = "", error: str | None = None, status: int = 200,
                retry_after: int | None = None):
    """The sign-in form, or for a client that asks for JSON, the error as JSON."""
    if error and wants_json():
        response = error_response(status, error)
    else:
        response = make_response(render_template(
            "auth/login.html", error=error, wrong=error == WRONG_PASSWORD, email=email,
            next=request.values.get("next", "")), status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.post("/logout")
def logout():
    """Sign out for good (the session ends on the server) and go to the sign-in page; a
    browser whose session already ended elsewhere lands there too."""
    end_session()
    db.session.commit()
    flash("You are signed out.")
    return redirect(url_for("auth.login"), 303)


def _tokens_page(status: int = 200, **context):
    tokens = ApiToken.query.filter_by(user_id=current_user.id).order_by(
        ApiToken.created_at.desc()).all()
    return render_template("settings/tokens.html", tokens=tokens, **context), status


@bp.get("/settings/tokens")
@login_required
def tokens():
    """The user's API tokens: name, start, created, last used; create and revoke."""
    return _tokens_page(new_secret=None, error=None)


@bp.post("/settings/tokens")
@login_required
def create_token():
    """Make a token and show its secret, once."""
    name = request.form.get("name", "")
    try:
        token, secret = make_token(current_user, name)
    except AccountError as exc:
        return _tokens_page(422, new_secret=None, error=str(exc), name=name[:100])
    db.session.commit()
    return _tokens_page(201, new_secret=secret, new_name=token.name, error=None)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    """Revoke one of the user's tokens."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if token.revoked_at is None:
        revoke(token)
        db.session.commit()
    flash(f"Revoked token {token.name}.")
    return redirect(url_for("auth.tokens"), 303)
