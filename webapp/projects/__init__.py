"""Video projects: pages to create, edit and render them."""

from flask import Blueprint

bp = Blueprint("projects", __name__, url_prefix="/projects")

from webapp.projects import live, media, views  # noqa: E402,F401
