"""Health endpoints for load balancers: /healthz (the process answers), /readyz (it can work)."""

from __future__ import annotations

from functools import cache

from alembic.script import ScriptDirectory
from flask import Blueprint, jsonify
from sqlalchemy import text

from webapp.config import ROOT
from webapp.extensions import db
from webapp.jobs.connection import get_redis

bp = Blueprint("health", __name__)


@cache
def _migration_heads() -> frozenset[str]:
    return frozenset(ScriptDirectory(str(ROOT / "migrations")).get_heads())


def _database() -> tuple[bool, str]:
    try:
        versions = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except Exception as exc:
        db.session.rollback()
        return False, f"unreachable or not migrated: {type(exc).__name__}"
    if versions != _migration_heads():
        return False, f"migrations not current (run `flask db upgrade`): at {sorted(versions)}"
    return True, "ok"


def _redis() -> tuple[bool, str]:
    try:
        get_redis().ping()
        return True, "ok"
    except Exception as exc:
        return False, f"unreachable: {type(exc).__name__}"


@bp.get("/healthz")
def healthz():
    """The process is up."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """PostgreSQL and Redis reachable, migrations current: 200, else 503 saying what is wrong."""
    checks = {"database": _database(), "redis": _redis()}
    ready = all(ok for ok, _ in checks.values())
    body = {"status": "ready" if ready else "unavailable",
            "checks": {name: detail for name, (_, detail) in checks.items()}}
    return jsonify(body), 200 if ready else 503
