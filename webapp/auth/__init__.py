"""Sign in, sign out, accounts, sessions and API tokens."""

from flask import Blueprint

from webapp.auth.login import init_login

bp = Blueprint("auth", __name__)

from webapp.auth import settings, views  # noqa: E402,F401

__all__ = ["bp", "init_login"]
