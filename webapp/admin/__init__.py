"""Admin pages: the audit log, and users with their limits."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webapp.admin import users, views  # noqa: E402,F401
