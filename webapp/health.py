"""Health endpoints for load balancers: /healthz (the process answers), /readyz (it can work).

/healthz touches neither PostgreSQL nor Redis, so it answers while they are down. /readyz
checks both through connections of its own with a short deadline (READY_TIMEOUT each), so a
pool held by stuck requests or a silent network cannot make the probe itself hang.
"""

from __future__ import annotations

from functools import cache

from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from webapp import database, redis_client
from webapp.config import ROOT

bp = Blueprint("health", __name__)

# The app.extensions key of the app's Probes (created on the first /readyz).
PROBES = "cutroom.health_probes"


@cache
def _migration_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory(str(ROOT / "migrations")).get_heads())


class Probes:
    """One PostgreSQL connection and one Redis client for readiness checks, per process."""

    def __init__(self, app: Flask):
        timeout = app.config["READY_TIMEOUT"]
        # One connection of its own (a fresh one per probe behind an external pooler),
        # bounded by the probe's deadline rather than a statement timeout.
        options = database.engine_options(
            connect_timeout=max(2, timeout), statement_timeout=0, pool_size=1,
            pool_timeout=timeout, pool=app.config["DATABASE_POOL"], max_overflow=0)
        self.engine: Engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], **options)
        database.init_app(app, self.engine, deadline=timeout, statement_timeout=0)
        self.redis = redis_client.connect(app.config, socket_connect_timeout=timeout,
                                          socket_timeout=timeout)

    def close(self) -> None:
        self.engine.dispose()
        self.redis.close()


def _probes() -> Probes:
    probes = current_app.extensions.get(PROBES)
    if probes is None:
        probes = current_app.extensions[PROBES] = Probes(current_app)
    return probes


def _database() -> tuple[bool, str]:
    try:
        with _probes().engine.connect() as conn:
            versions = set(conn.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception as exc:
        return False, f"unreachable or not migrated: {type(exc).__name__}"
    if versions != _migration_heads():
        return False, f"migrations not current (run `flask db upgrade`): at {sorted(versions)}"
    return True, "ok"


def _redis() -> tuple[bool, str]:
    try:
        _probes().redis.ping()
        return True, "ok"
    except Exception as exc:
        return False, f"unreachable: {type(exc).__name__}"


@bp.get("/healthz")
def healthz():
    """The process is up (touches neither PostgreSQL nor Redis)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """PostgreSQL and Redis reachable, migrations current: 200, else 503 saying what is wrong."""
    checks = {"database": _database(), "redis": _redis()}
    ready = all(ok for ok, _ in checks.values())
    body = {"status": "ready" if ready else "unavailable",
            "checks": {name: detail for name, (_, detail) in checks.items()}}
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
