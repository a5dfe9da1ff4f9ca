"""Live pages: one poll per page for all its live parts, answered before Flask from Redis
(204) when nothing changed. The protocol is here (webapp/live/regions.py, poller.py,
shortcut.py); features render their own parts (webapp/dashboard/live.py,
webapp/projects/live.py)."""

from flask import Blueprint, Flask

bp = Blueprint("live", __name__)

from webapp.live import views  # noqa: E402,F401


def init_app(app: Flask) -> None:
    """The poll's route, and in front of the app the answer to an unchanged poll."""
    from webapp.jobs.connection import get_quick_redis
    from webapp.live.shortcut import UnchangedPolls

    app.register_blueprint(bp)
    with app.app_context():
        app.wsgi_app = UnchangedPolls(app, app.wsgi_app, get_quick_redis())
