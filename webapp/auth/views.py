"""Sign-in and sign-out pages."""

from __future__ import annotations

from flask import Flask, abort, current_app, flash, redirect, render_template, request, url_for
from flask_limiter import Limiter
from flask_login import current_user, login_required, login_user, logout_user

from webapp.auth import bp
from webapp.auth.services import (
    AccountError,
    authenticate,
    normalize_email,
)
from webapp.auth.services import (
    create_token as make_token,
)
from webapp.auth.services import (
    revoke_token as revoke,
)
from webapp.extensions import db
from webapp.models import ApiToken
from webapp.navigation import local_path


def safe_next(target: str | None) -> str:
    """A local path to return to after signing in; anything else goes home."""
    return local_path(target, url_for("dashboard.home"))


def _failed_sign_in(response) -> bool:
    return response.status_code == 401


def _account_key() -> str:
    return "account:" + normalize_email(request.form.get("email", "")[:254])


def throttle_sign_in(app: Flask, limiter: Limiter) -> None:
    """Limit failed sign-ins per account and per address (only failures count; past a limit
    every attempt is refused with 429 until the window passes)."""
    view = app.view_functions["auth.login"]
    view = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
                         key_func=_account_key, methods=["POST"],
                         deduct_when=_failed_sign_in, scope="sign-in-account")(view)
    view = limiter.limit(lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"],
                         deduct_when=_failed_sign_in, scope="sign-in-address")(view)
    app.view_functions["auth.login"] = view


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on POST."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")), 303)
    error = None
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "")[:254]
        user = authenticate(email, request.form.get("password", "")[:1024])
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.form.get("next")), 303)
        error = "Wrong email or password."
    status = 401 if error else 200
    return render_template(
        "auth/login.html", error=error, email=email, next=request.values.get("next", "")
    ), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out and go to the sign-in page."""
    logout_user()
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
