"""rq-dashboard mounted at /rq, for admins only, hardened around its own code.

- guard.py: admins only, the CSRF check on its POSTs, no change by GET, URL arguments
  checked up front (inputs.py: 404 unknown, 400 malformed), and its buttons that change jobs
  done as Cutroom operations recorded in PostgreSQL and the audit log (actions.py).
- escaping.py: every string in the JSON its pages render is HTML-escaped, because its
  client-side templates insert job fields (user input) without escaping.
- pages.py: its HTML gets our CSRF token and a CSP that runs only its own inline script.
- errors.py: what its views raise answers 4xx (503 when Redis is down), never 500.
- jobinfo.py: its job page's data, which its own view cannot give under rq 3.
Every hook is on the app, not on rq-dashboard's module-level blueprint: a hook there would
break every app created after the first.
"""

from __future__ import annotations

import rq_dashboard
from flask import Flask, Response, request
from redis import Redis

from webapp import redis_client
from webapp.jobs.connection import get_redis
from webapp.rq_admin import errors, escaping, guard, jobinfo, pages

PREFIX = "/rq"


def init_app(app: Flask) -> None:
    """Mount rq-dashboard on this app's Redis client and guard it."""
    # Its one instance, as its navbar shows it (without secrets): this app's Redis.
    app.config["RQ_DASHBOARD_REDIS_URL"] = (redis_client.describe(app.config),)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=PREFIX)
    _use_the_apps_redis(app)
    app.view_functions[jobinfo.ENDPOINT] = jobinfo.job_info
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith(f"{guard.BLUEPRINT}."):
            app.view_functions[endpoint] = errors.translated(view)
    app.before_request(guard.admins_only)
    app.after_request(_finish)

    @app.context_processor
    def _rq_dashboard_defaults():
        # Its job page renders a navbar that reads `active_tab` without passing it.
        return {"active_tab": "jobs"} if request.blueprint == guard.BLUEPRINT else {}


class _FixedTimeouts(dict):
    """Connection options in which the socket timeouts stay as set: RQ's Worker constructor
    (which rq-dashboard's worker views call through Worker.all) raises a connection's socket
    timeout to its dequeue timeout + 10 s (415 s) by updating these options in place. The
    dashboard never blocks on a dequeue, so a hung Redis must fail its pages as fast as
    everyone else's."""

    PINNED = ("socket_timeout", "socket_connect_timeout")

    def update(self, *args, **kwargs) -> None:
        changes = dict(*args, **kwargs)
        super().update({k: v for k, v in changes.items() if k not in self.PINNED})


def _pinned_timeouts(client: Redis) -> Redis:
    pool = client.connection_pool
    pool.connection_kwargs = _FixedTimeouts(pool.connection_kwargs)
    return client


def _use_the_apps_redis(app: Flask) -> None:
    """Its views use `app.redis_conn`, which its own setup (`setup_rq_connection`) and a
    before_request hook of its make from RQ_DASHBOARD_REDIS_URL: a new client each request,
    with no timeouts and no Sentinel. Here they use a client like the app's (same server or
    Sentinel master, same short timeouts, kept short: _FixedTimeouts) with a pool of its own,
    and the hook goes (from this app only, never from its module-level blueprint); other
    instance numbers are refused anyway (inputs.py)."""
    with app.app_context():
        app.redis_conn = _pinned_timeouts(redis_client.like(get_redis()))
    hooks = app.before_request_funcs.get(guard.BLUEPRINT, [])
    hooks[:] = [hook for hook in hooks if hook is not rq_dashboard.web.push_rq_connection]


def _finish(response: Response) -> Response:
    """Its pages get the token and their CSP; its JSON gets every string escaped."""
    if request.blueprint != guard.BLUEPRINT:
        return response
    if response.mimetype == "text/html":
        return pages.finish_page(response)
    if response.is_json and response.status_code == 200:
        return escaping.escape_json_response(response, request.endpoint or "")
    return response
