"""Flask-Login wiring: loading the session's user and answering the unauthenticated."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import LoginManager

from webapp.api.errors import error_response, wants_json
from webapp.extensions import db
from webapp.models import User


def init_login(manager: LoginManager) -> None:
    """Configure the login manager for this app."""
    manager.login_view = "auth.login"
    manager.login_message = "Sign in to continue."

    @manager.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    @manager.unauthorized_handler
    def unauthorized():
        if wants_json() or request.method != "GET":
            return error_response(401, "Sign in to continue.")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), 303)
