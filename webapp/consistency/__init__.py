"""The consistency panel (/console/consistency, admins): rows that disagree with RQ, what
the reconciler repaired in the last 24 h, outcomes waiting for PostgreSQL and the last pass;
and the warning banner admins see on every page while any of these needs attention."""

from flask import Blueprint, Flask

bp = Blueprint("consistency", __name__, url_prefix="/console")

from webapp.consistency import banner, views  # noqa: E402,F401


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    banner.init_app(app)
