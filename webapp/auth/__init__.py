"""Sign in, sign out, accounts and API tokens."""

from flask import Blueprint

from webapp.auth.login import init_login

bp = Blueprint("auth", __name__)

from webapp.auth import views  # noqa: E402,F401

__all__ = ["bp", "init_login"]
