"""Cutroom behind PgBouncer in transaction mode (DATABASE_POOL=external).

Every process (gunicorn as the Procfile starts it, two workers and their work-horses, the
reconciler, the readiness probe, migrations) reaches PostgreSQL through a PgBouncer of the
test's own whose pools have two server connections: jobs of every kind end in their true
final state, per-user limits hold under parallel submits (transaction-scoped advisory
locks), the statement timeout and the client-side deadline still apply, nothing is left on
a server connection for the next client, and PostgreSQL sees at most two connections.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from alembic.script import ScriptDirectory
from psycopg import errors
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests import pgbouncer
from tests.live import WebProcess, submit_at_once
from tests.support import (
    WorkerProcess,
    child_env,
    close_app,
    job_row,
    make_token,
    make_user,
    wait_for,
)
from webapp import create_app, database
from webapp.config import ROOT
from webapp.devservices import ensure_database
from webapp.extensions import db
from webapp.models import BackgroundJob

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

POOL_SIZE = 2
POOLED = {"DATABASE_POOL": "external", "DATABASE_STATEMENT_TIMEOUT": "1",
          "WORKER_HEARTBEAT_INTERVAL": "1"}


def _database(services) -> str:
    return make_url(services["DATABASE_URL"]).database


@pytest.fixture(scope="module")
def bouncer(services):
    """PgBouncer in front of the test database and of an empty one for migrations."""
    if not pgbouncer.available():
        pytest.skip(f"NO PGBOUNCER at {pgbouncer.BINARY}: the transaction-pooling tests did "
                    "not run (apt-get install pgbouncer; .ci/run installs it)")
    fresh = f"{_database(services)}_via_pgbouncer"
    ensure_database(services["ADMIN_URL"], fresh, recreate=True)
    directory = Path(tempfile.mkdtemp(prefix="cutroom-pgbouncer-"))
    process = pgbouncer.PgBouncer(services["DATABASE_URL"], services["ADMIN_URL"], directory,
                                  [_database(services), fresh], pool_size=POOL_SIZE)
    process.fresh_database = fresh
    yield process
    with psycopg.connect(services["ADMIN_URL"], autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')
    process.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def pooled_env(bouncer, services) -> dict[str, str]:
    """Environment of a process that reaches the test database only through PgBouncer."""
    return child_env(DATABASE_URL=bouncer.url_for(_database(services)), **POOLED)


def _submit(api: httpx.Client, task: str, **params) -> str:
    response = api.post(f"/api/v1/tasks/{task}", json=params)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _final(job_id: str, timeout: float = 60):
    return wait_for(lambda: (row := job_row(job_id)).is_final and row, timeout=timeout,
                    interval=0.2, message=f"job {job_id} to end")


def _reconcile_once(env: dict[str, str]) -> str:
    """One pass of the Procfile's reconciler, as its own process."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "reconcile",
                           "--once"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "pass failed" not in output, output
    return output


@contextlib.contextmanager
def _processes(env: dict[str, str], redis, headers: dict[str, str]
               ) -> Iterator[tuple[httpx.Client, dict[str, WorkerProcess]]]:
    """gunicorn as the Procfile runs it and two workers; yields (an API client of the web
    process, the workers by name)."""
    web, workers = WebProcess(env, workers=2, threads=4), {}
    try:
        web.wait_ready()
        for _ in range(2):
            worker = WorkerProcess(env)
            workers[worker.name] = worker
            worker.wait_ready(redis)
        with httpx.Client(base_url=web.url, headers=headers, timeout=30) as api:
            yield api, workers
    finally:
        web.stop()
        for worker in workers.values():
            worker.stop()


def _every_kind(api: httpx.Client) -> dict[str, tuple[str, int]]:
    """Submit jobs of every kind; {id: (final status, attempts)} of those left to run."""
    ran = {_submit(api, "fail-test", message="always"): ("failed", 3),
           _submit(api, "fail-test", message="flaky", succeed_on_attempt=2): ("finished", 2)}
    for _ in range(3):
        ran[_submit(api, "countdown", steps=1)] = ("finished", 1)
    for n in range(4):
        ran[_submit(api, "trigger-test", message=f"hi {n}")] = ("finished", 1)
    return ran


def test_jobs_of_every_kind_end_right_through_pgbouncer(app, redis, live_db, bouncer,
                                                        pooled_env, services):
    name = _database(services)
    headers = {"Authorization": f"Bearer {make_token(make_user())}"}  # two may run at once
    stats_before = bouncer.stats(name)
    with (pgbouncer.Watch(bouncer, name) as watch,
          _processes(pooled_env, redis, headers) as (api, workers)):
        # More probes than psycopg's prepare threshold (5): none is prepared.
        assert {api.get("/readyz").status_code for _ in range(8)} == {200}
        long = _submit(api, "countdown", steps=60)
        ran = _every_kind(api)
        canceled = _submit(api, "trigger-test", message="never")
        response = api.post(f"/api/v1/jobs/{canceled}/cancel")
        assert (response.status_code, response.json()["status"]) == (200, "canceled")
        _stop(api, long, workers)
        _reconcile_once(pooled_env)  # while the jobs run

        assert _final(long).status == "stopped"
        for job_id, (status, attempts) in ran.items():
            row = _final(job_id)
            assert (row.status, row.attempt) == (status, attempts), row.error
        assert (job_row(canceled).status, job_row(canceled).attempt) == ("canceled", 0)

        # At rest no client keeps a server connection: no transaction is left open in a
        # worker, a work-horse or a web process, even after a worker's last job was
        # stopped with nothing of its owner's waiting.
        last = _submit(api, "countdown", steps=60)
        _stop(api, last, workers)
        assert _final(last).status == "stopped"
        _assert_at_rest(bouncer, name)
        _reconcile_once(pooled_env)
    transactions = bouncer.stats(name)["total_xact_count"] - stats_before["total_xact_count"]
    print(f"\npgbouncer: {transactions} transactions, {len(ran) + 3} jobs; peak "
          f"{watch.peak_servers} server connections (PostgreSQL saw {watch.peak_backends}), "
          f"{len(watch.backend_pids)} distinct backends, peak {watch.peak_clients} clients, "
          f"{watch.samples} samples")
    assert watch.samples > 20 and not watch.errors[:1], watch.errors[:3]
    assert watch.peak_servers <= POOL_SIZE and watch.peak_backends <= POOL_SIZE
    assert transactions > 20 * POOL_SIZE  # many transactions shared two connections


def _stop(api: httpx.Client, job_id: str, workers: dict[str, WorkerProcess]) -> None:
    """Stop a running job once its work-horse is up."""
    row = wait_for(lambda: (r := job_row(job_id)).status == "started" and r,
                   message=f"job {job_id} to start")
    wait_for(workers[row.worker_name].horse_pids, message="its work-horse")
    assert api.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 202


def _assert_at_rest(bouncer: pgbouncer.PgBouncer, database: str) -> None:
    """No client of `database` holds a server connection (no transaction is open)."""
    def idle():
        pool = bouncer.pool(database)
        return pool["cl_active"] == pool["cl_waiting"] == pool["sv_active"] == 0

    try:
        wait_for(idle, timeout=10, message="PgBouncer's pool to be idle")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {bouncer.pool(database)}; transactions open: "
                             f"{bouncer.open_transactions()}") from None


def test_parallel_submits_through_pgbouncer_never_pass_the_waiting_limit(live_db, bouncer,
                                                                         pooled_env):
    user = make_user(max_waiting_jobs=5, submit_rate="1000 per minute")
    web = WebProcess(pooled_env, workers=2, threads=8).wait_ready()
    try:
        responses = submit_at_once(web, make_token(user), 12)
    finally:
        web.stop()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] * 5 + [429] * 7, [r.text[:200] for r in responses]
    count = db.session.scalar(select(func.count()).select_from(BackgroundJob)
                              .where(BackgroundJob.user_id == user.id))
    assert count == 5


@pytest.fixture
def pooled_app(bouncer, services, monkeypatch):
    """The app in this process, configured to reach PostgreSQL through PgBouncer."""
    monkeypatch.setenv("DATABASE_URL", bouncer.url_for(_database(services)))
    for key, value in POOLED.items():
        monkeypatch.setenv(key, value)
    app = create_app({"TESTING": True})
    yield app
    close_app(app)


def test_statement_timeout_and_deadline_apply_per_transaction_through_pgbouncer(
        pooled_app, bouncer, services):
    with pooled_app.app_context():
        connection = db.session.connection()
        assert connection.connection.dbapi_connection.prepare_threshold is None
        assert db.session.scalar(text("SHOW statement_timeout")) == "1s"
        started = time.monotonic()
        with pytest.raises(OperationalError) as caught:
            db.session.execute(text("SELECT pg_sleep(3)"))
        assert isinstance(caught.value.orig, errors.QueryCanceled)
        assert time.monotonic() - started < 2.5
        db.session.rollback()

        # SET LOCAL ended with its transaction: the server connection, which the next
        # client gets, has PostgreSQL's own default.
        with psycopg.connect(bouncer.url_for(_database(services)), autocommit=True) as plain:
            assert plain.execute("SHOW statement_timeout").fetchone()[0] == "0"

        # A statement the server would let run (timeout lifted) still ends at the client's
        # deadline, statement timeout + 2 s.
        db.session.execute(text("SET LOCAL statement_timeout = 0"))
        started = time.monotonic()
        with pytest.raises(OperationalError) as caught:
            db.session.execute(text("SELECT pg_sleep(5)"))
        assert isinstance(caught.value.orig, database.DatabaseUnresponsive)
        assert 2.5 < time.monotonic() - started < 4.5
        db.session.rollback()
        assert db.session.scalar(text("SELECT 1")) == 1

        # Migrations lift both limits, for every transaction they begin.
        with db.engine.connect() as conn, database.without_timeouts(conn):
            assert conn.scalar(text("SHOW statement_timeout")) == "0"
            conn.execute(text("SELECT pg_sleep(1.5)"))
            conn.commit()
            assert conn.scalar(text("SHOW statement_timeout")) == "0"
        with db.engine.connect() as conn:
            assert conn.scalar(text("SHOW statement_timeout")) == "1s"
        db.session.remove()
    # The abandoned pg_sleep ends on the server within seconds.
    wait_for(lambda: bouncer.backends() <= POOL_SIZE, timeout=10,
             message="the abandoned statement to end")


def test_migrations_run_through_pgbouncer(bouncer, services):
    env = child_env(DATABASE_URL=bouncer.url_for(bouncer.fresh_database), **POOLED)
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    direct = make_url(services["ADMIN_URL"]).set(database=bouncer.fresh_database)
    with psycopg.connect(direct.render_as_string(hide_password=False)) as conn:
        versions = {v for (v,) in conn.execute("SELECT version_num FROM alembic_version")}
    assert versions == set(ScriptDirectory(str(ROOT / "migrations")).get_heads())
