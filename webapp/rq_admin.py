"""rq-dashboard mounted at /rq, for admins only.

Its actions carry no CSRF token of their own and "requeue all" accepts GET, so nobody but
an admin may reach any of it, GET never requeues, and its pages get the app's CSRF token
(so the app's CSRF check applies to its POSTs too). Its requeue buttons become Cutroom
retries, so PostgreSQL stays the record. The guard is an app-level before_request: a hook
on rq-dashboard's module-level blueprint would break every app created after the first.
"""

from __future__ import annotations

import uuid

import rq_dashboard
from flask import Flask, abort, jsonify, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from rq import requeue_job
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from webapp import audit
from webapp.api.errors import error_response, wants_json
from webapp.extensions import db
from webapp.jobs import service
from webapp.jobs.connection import get_redis
from webapp.models import BackgroundJob
from webapp.security import check_csrf

PREFIX = "/rq"


def init_app(app: Flask) -> None:
    """Mount rq-dashboard on this app's Redis and guard it."""
    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=PREFIX)
    rq_dashboard.web.setup_rq_connection(app)
    app.before_request(_admins_only)
    app.after_request(_add_csrf_token)

    @app.context_processor
    def _rq_dashboard_defaults():
        # Its job page renders a navbar that reads `active_tab` without passing it.
        return {"active_tab": "jobs"} if request.blueprint == "rq_dashboard" else {}


def _admins_only():
    if request.blueprint != rq_dashboard.blueprint.name:
        return None
    if not current_user.is_authenticated:
        if request.method != "GET" or request.path.endswith(".json") or wants_json():
            return error_response(401, "Sign in as an admin to use the queue dashboard.")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")), 303)
    if not current_user.is_admin:
        abort(403)
    if request.endpoint == "rq_dashboard.requeue_all" and request.method == "GET":
        abort(405)  # a link must not change anything; its own page POSTs
    if request.endpoint in REQUEUE_ENDPOINTS:
        check_csrf()  # this guard answers before the app-wide check would run
        return _requeue_through_cutroom()
    if request.endpoint == "rq_dashboard.compact_queue":
        check_csrf()
        queue = (request.view_args or {}).get("queue_name", "")
        if not get_redis().exists(f"rq:queue:{queue}"):
            # RQ's compact renames the queue's list, which fails when the queue is empty.
            return jsonify(status="OK")
    return None


REQUEUE_ENDPOINTS = ("rq_dashboard.requeue_job_view", "rq_dashboard.requeue_all")


def _requeue_through_cutroom():
    """rq-dashboard's requeue buttons, done as Cutroom retries for jobs that have a row.

    RQ's own requeue would bypass PostgreSQL (the worker would then refuse to run a job
    whose row is final); jobs without a row are left to rq-dashboard.
    """
    args = request.view_args or {}
    if request.endpoint == "rq_dashboard.requeue_job_view":
        ids = [args.get("job_id", "")]
    else:
        registry = FailedJobRegistry(args.get("queue_name", ""), connection=get_redis())
        ids = registry.get_job_ids(cleanup=False)
    rows = {str(r.id): r for r in _rows(ids)}
    retried = 0
    for job_id in ids:
        row = rows.get(job_id)
        if row is None:
            requeue_job(job_id, connection=get_redis())
            retried += 1
            continue
        try:
            service.retry(row)
            audit.admin_action(current_user, "job.retry", "job", row.id, row.user_id,
                               via="rq-dashboard")
            retried += 1
        except (service.JobConflict, service.QueueUnavailable) as exc:
            if request.endpoint == "rq_dashboard.requeue_job_view":
                return error_response(409, str(exc))
    return jsonify(status="OK", count=retried)


def _rows(ids: list[str]) -> list[BackgroundJob]:
    valid = []
    for job_id in ids:
        try:
            valid.append(uuid.UUID(job_id))
        except ValueError:
            continue
    if not valid:
        return []
    return list(db.session.scalars(select(BackgroundJob).where(BackgroundJob.id.in_(valid))))


def _add_csrf_token(response):
    """rq-dashboard's pages post with jQuery and no token: give its pages ours.

    A meta tag carries the token and a static script sets it as jQuery's default
    X-CSRFToken header, so the dashboard's buttons pass the app's CSRF check.
    """
    if request.blueprint != rq_dashboard.blueprint.name or response.mimetype != "text/html":
        return response
    tags = (f'<meta name="csrf-token" content="{generate_csrf()}">'
            f'<script src="{url_for("static", filename="rq-csrf.js")}"></script></body>')
    response.set_data(response.get_data(as_text=True).replace("</body>", tags, 1))
    return response
