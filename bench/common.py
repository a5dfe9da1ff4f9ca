"""Services for the benchmarks: the configured PostgreSQL/Redis, or embedded ones."""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy.engine import make_url

from webapp.devservices import ensure_database, start_postgres, start_redis

BENCH_REDIS_DB = 14


def services(base: Path, database: str, recreate: bool = True) -> tuple[str, str, list]:
    """(database URL, Redis URL, things to stop) for the benchmark; `recreate` starts its
    database afresh."""
    stop: list = []
    if os.environ.get("DATABASE_URL"):
        url = make_url(os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1))
        admin = url.set(drivername="postgresql", database="postgres")
        admin_url = admin.render_as_string(hide_password=False)
        database_url = admin.set(database=database).render_as_string(hide_password=False)
    else:
        postgres = start_postgres(base / "postgres")
        stop.append(postgres)
        admin_url, database_url = postgres.admin_url, postgres.url_for(database)
    ensure_database(admin_url, database, recreate=recreate)
    if os.environ.get("REDIS_URL"):
        redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + f"/{BENCH_REDIS_DB}"
    else:
        redis = start_redis(base / "redis", persistent=False)
        stop.append(redis)
        redis_url = redis.url
    return database_url, redis_url, stop


def unlimited(user) -> None:
    """Lift a benchmark user's per-user limits (fair sharing would hold most jobs back)."""
    from webapp.quotas import MAX_INT_LIMIT, set_limits

    set_limits(user, {"max_running_jobs": MAX_INT_LIMIT, "max_waiting_jobs": MAX_INT_LIMIT,
                      "submit_rate": f"{MAX_INT_LIMIT} per minute"})


def migrated_app(database_url: str, redis_url: str):
    """The app on the benchmark's services, its schema migrated to the newest revision,
    CSRF off (the benchmarks sign in with the test client)."""
    os.environ.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                       "CUTROOM_ENV": "development"})
    from flask_migrate import upgrade

    from webapp import create_app

    app = create_app({"TESTING": False, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade()
    return app


def write_summary(path: str | None, rows: list[dict]) -> None:
    """The figures of a benchmark for bench/suite.py (`--summary FILE`): rows of {goal,
    measure, cutroom, anchor, anchor_name, ratio, target, met}."""
    if path:
        Path(path).write_text(json.dumps(rows, indent=1))
