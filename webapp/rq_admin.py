"""rq-dashboard mounted at /rq, for admins only.

Its actions carry no CSRF token and "requeue all" accepts GET, so nobody but an admin may
reach any of it. The guard is an app-level before_request: a hook on rq-dashboard's
module-level blueprint would break every app created after the first.
"""

from __future__ import annotations

import rq_dashboard
from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user

from webapp.api.errors import error_response, wants_json

PREFIX = "/rq"


def init_app(app: Flask) -> None:
    """Mount rq-dashboard on this app's Redis and guard it."""
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=PREFIX)
    rq_dashboard.web.setup_rq_connection(app)
    app.before_request(_admins_only)


def _admins_only():
    if request.blueprint != rq_dashboard.blueprint.name:
        return None
    if not current_user.is_authenticated:
        if request.method != "GET" or request.path.endswith(".json") or wants_json():
            return error_response(401, "Sign in as an admin to use the queue dashboard.")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), 303)
    if not current_user.is_admin:
        abort(403)
    return None
