"""Who may use /rq, and what a request there may do, decided before rq-dashboard's views run.

rq-dashboard has no authentication, its POST actions carry no CSRF token of their own and
"requeue all" accepts GET: so only admins reach it, with the app's CSRF check on every POST
and no change made by a GET. Its URL arguments are checked first (inputs.py), then its
buttons that change jobs are done as Cutroom operations (actions.py).
"""

from __future__ import annotations

import rq_dashboard
from flask import abort, jsonify, redirect, request, url_for
from flask_login import current_user
from redis.exceptions import RedisError
from rq.registry import FailedJobRegistry

from webapp.errors import error_response, wants_json
from webapp.jobs.connection import get_redis
from webapp.rq_admin import actions, inputs
from webapp.rq_admin.errors import UNREACHABLE, refuse
from webapp.security import SAFE_METHODS, check_csrf

BLUEPRINT = rq_dashboard.blueprint.name
PAGES = frozenset({"rq_dashboard.queues_overview", "rq_dashboard.workers_overview",
                   "rq_dashboard.jobs_overview", "rq_dashboard.job_view"})


def admins_only():
    """The app's before_request for /rq: admins only, checked arguments, Cutroom actions."""
    if request.blueprint != BLUEPRINT:
        return None
    if (refusal := _refuse_non_admins()) is not None:
        return refusal
    if request.method not in SAFE_METHODS:
        check_csrf()  # this guard answers before the app-wide check would run
    if request.endpoint == "rq_dashboard.requeue_all" and request.method == "GET":
        abort(405)  # a link must not change anything; its own page POSTs
    try:
        inputs.check(request.endpoint or "", request.view_args or {})
        return _dispatch()
    except inputs.BadArgument as exc:
        return refuse(exc.status, exc.message)
    except RedisError:
        return refuse(503, UNREACHABLE)


def _refuse_non_admins():
    if not current_user.is_authenticated:
        if request.method != "GET" or request.path.endswith(".json") or wants_json():
            return error_response(401, "Sign in as an admin to use the queue dashboard.")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), 303)
    if not current_user.is_admin:
        abort(403)
    return None


def _dispatch():
    """Answer the actions that change jobs; None lets rq-dashboard's view answer."""
    endpoint, args = request.endpoint, request.view_args or {}
    if endpoint == "rq_dashboard.requeue_job_view":
        return actions.requeue([args["job_id"]], single=True)
    if endpoint == "rq_dashboard.requeue_all":
        registry = FailedJobRegistry(args["queue_name"], connection=get_redis())
        return actions.requeue(registry.get_job_ids(cleanup=False), single=False)
    if endpoint == "rq_dashboard.delete_job_view" and not actions.delete_disabled():
        return actions.delete(args["job_id"])
    if endpoint == "rq_dashboard.empty_queue" and not actions.delete_disabled():
        return actions.empty(args["queue_name"], args["registry_name"])
    if (endpoint == "rq_dashboard.compact_queue"
            and not get_redis().exists(f"rq:queue:{args['queue_name']}")):
        # RQ's compact renames the queue's list, which fails when the queue is empty.
        return jsonify(status="OK")
    if endpoint in PAGES:
        # Its queues page shows "Connection Error" with a 200 when Redis is down: say 503.
        get_redis().ping()
    return None
