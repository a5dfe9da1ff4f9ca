"""The HTMX dashboard: launch forms, live job cards and job pages."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from webapp.dashboard import live, views  # noqa: E402,F401
