"""Fixtures: real PostgreSQL and Redis for the whole session, an app, per-test isolation.

With DATABASE_URL / REDIS_URL unset, an embedded PostgreSQL and Redis start in a temporary
directory. With them set, the tests use that PostgreSQL server but their own database
(`<name>_test`, dropped and recreated; `<name>_test0` to `<name>_test2` for the three
processes of `make test`) and that Redis server with database 9 (9 to 11), which they
flush: never point REDIS_URL at a server whose databases 9 to 11 you need. Media is on local
disk, or with MEDIA_STORAGE=s3 in S3 (tests/s3.py: an embedded SeaweedFS, or the configured
store).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import g
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession
from redis import Redis
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.support import WorkerProcess, child_env, close_app, make_token, make_user
from webapp import create_app
from webapp.devservices import ensure_database, start_postgres, start_redis
from webapp.extensions import db
from webapp.storage import get_store

# The headless-browser fixtures (`server`, `browser`), shared by the browser tests.
pytest_plugins = ["tests.browser", "tests.s3"]

TEST_REDIS_DB = 9
# Under pytest-xdist (`make test` runs two processes), each process has its own database and
# Redis database number on a configured server (embedded services are per process anyway).
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
DATABASE_SUFFIX = f"_test{WORKER}" if "PYTEST_XDIST_WORKER" in os.environ else "_test"
TABLES = ("background_jobs", "projects", "api_tokens", "users", "job_metrics_hourly",
          "reconciler_passes")


def _postgres(stack: list, base: Path) -> tuple[str, str]:
    """(admin URL, test database URL) on the configured or an embedded server."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        url = make_url(configured.replace("postgres://", "postgresql://", 1))
        url = url.set(drivername="postgresql")
        admin = url.set(database="postgres").render_as_string(hide_password=False)
        test = url.set(database=f"{url.database}{DATABASE_SUFFIX}").render_as_string(
            hide_password=False)
        return admin, test
    server = start_postgres(base / "postgres")
    stack.append(server)
    return server.admin_url, server.url_for(f"cutroom{DATABASE_SUFFIX}")


def _redis(stack: list, base: Path) -> str:
    """The configured Redis server with the test database number, or an embedded one."""
    configured = os.environ.get("REDIS_URL")
    if not configured:
        server = start_redis(base / "redis", persistent=False)
        stack.append(server)
        return server.url
    parts = urlsplit(configured)
    if parts.scheme == "unix":
        query = [q for q in parts.query.split("&") if q and not q.startswith("db=")]
        return urlunsplit(parts._replace(query="&".join([*query,
                                                          f"db={TEST_REDIS_DB + WORKER}"])))
    return urlunsplit(parts._replace(path=f"/{TEST_REDIS_DB + WORKER}"))


@pytest.fixture(scope="session")
def services() -> Iterator[dict[str, str]]:
    """Start (or reach) PostgreSQL and Redis; export their URLs for every process."""
    base = Path(tempfile.mkdtemp(prefix="cutroom-test-"))
    stack: list = []
    for name in ("REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "REDIS_SENTINEL_PASSWORD"):
        os.environ.pop(name, None)  # tests use REDIS_URL; the Sentinel test starts its own
    try:
        admin_url, database_url = _postgres(stack, base)
        ensure_database(admin_url, make_url(database_url).database, recreate=True)
        redis_url = _redis(stack, base)
        os.environ.update({
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CUTROOM_TEST_LOG_DIR": str(base),
            "MEDIA_ROOT": str(base / "media"),
            "CUTROOM_ENV": "testing",
        })
        from tests.s3 import session_s3_env  # a plugin: imported by pytest first

        s3 = session_s3_env(stack, base, WORKER)
        os.environ.update(s3)
        embedded_redis = next((s for s in stack if hasattr(s, "restart")), None)
        yield {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "ADMIN_URL": admin_url,
               "redis_server": embedded_redis, "s3": s3}
    finally:
        for service in reversed(stack):
            service.stop()


@pytest.fixture(scope="session")
def app(services):
    """The app under test, on a migrated test database."""
    # CSRF is off here so tests can post forms plainly; `secure_app` has it on.
    app = _test_app(WTF_CSRF_ENABLED=False)
    with app.app_context():
        upgrade()
    yield app
    close_app(app)


@pytest.fixture(scope="session")
def secure_app(app):
    """The app as production runs it: CSRF checks on (same database and Redis)."""
    secure = _test_app()
    yield secure
    close_app(secure)


def _test_app(**overrides):
    app = create_app({"TESTING": True, "TRIGGER_TEST_DELAY": 0, "PROGRESS_INTERVAL": 0.2,
                      **overrides})

    def _like_a_fresh_app_context():
        # Tests hold an app context, and Flask then runs every request inside it instead of
        # a new one: forget what the previous request left in g (its user, its CSRF token)
        # and its rows, as production would.
        g.__dict__.clear()
        db.session.expire_all()

    app.before_request_funcs.setdefault(None, []).insert(0, _like_a_fresh_app_context)
    return app


@pytest.fixture(scope="session")
def redis(app) -> Iterator[Redis]:
    client = Redis.from_url(app.config["REDIS_URL"])
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _clean_redis(request) -> None:
    """Every test that touches the app starts with an empty Redis database."""
    if "app" in request.fixturenames:
        request.getfixturevalue("redis").flushdb()


class BoundSession(FlaskSession):
    """Flask-SQLAlchemy's session picks the app's engine over `bind`; use the test's
    connection instead, so every statement runs inside the test's transaction."""

    def get_bind(self, *args, **kwargs):
        return self.bind


@pytest.fixture
def db_session(app):
    """Run the test inside a transaction that is rolled back at the end.

    Requests made through the test client share the connection, so they see the test's
    rows; commits inside the app become savepoints.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint",
             "class_": BoundSession}
        )
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def live_db(app):
    """Committed data, visible to worker processes; tables and media are emptied afterwards."""
    with app.app_context():
        yield db.session
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    # Ids restart with the tables, so files of an old project 1 must not meet a new one.
    shutil.rmtree(app.config["MEDIA_ROOT"], ignore_errors=True)
    if app.config["MEDIA_STORAGE"] != "local":
        with app.app_context():
            get_store().delete_prefix("")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def worker(app, redis, live_db) -> Iterator[WorkerProcess]:
    """A real worker process for one test."""
    process = WorkerProcess(child_env()).wait_ready(redis)
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def user(db_session):
    """A signed-up account, inside the test's transaction."""
    return make_user()


@pytest.fixture
def auth(user):
    """Bearer-token headers for `user`."""
    return {"Authorization": f"Bearer {make_token(user)}"}
