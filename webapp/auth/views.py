"""Sign-in and sign-out pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from webapp.auth import bp
from webapp.auth.services import authenticate
from webapp.navigation import local_path


def safe_next(target: str | None) -> str:
    """A local path to return to after signing in; anything else goes home."""
    return local_path(target, url_for("dashboard.home"))


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
