"""Server time of the metrics page, its API and /metrics over a million job rows.

Generates ROWS ended jobs spread over DAYS (INSERT ... SELECT generate_series: 85% finished,
8% failed, 4% stopped, 3% canceled; six tasks on two queues; waits up to 2 min, runs up to
5 min) plus a few hundred waiting and running ones, then times, through the app's test
client as an admin, each window of GET /console/metrics (numbers and SVG) and
GET /api/v1/metrics, twice: from the rows alone (no rollup) and with the reconciler's
hourly rollup built; and a Prometheus scrape of /metrics. Prints p50/p95 per case.

Usage: python bench/metrics.py [--rows 1000000] [--days 90] [--repeat 20] [--reuse]
With DATABASE_URL / REDIS_URL unset it starts the embedded services in a temporary directory.
It uses its own database (cutroom_bench_metrics) and Redis database 14; --reuse keeps the
rows of an earlier run instead of generating them again.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import services  # noqa: E402  (bench/ is on sys.path as the script's folder)
from sqlalchemy import text  # noqa: E402

DATABASE = "cutroom_bench_metrics"
TOKEN = "bench-metrics-token-0123456789"
PASSWORD = "bench password 1234"
GENERATE = """
WITH base AS (
  SELECT g, now() - random() * (:days * interval '1 day') AS created,
         (ARRAY['countdown', 'trigger-test', 'write-script', 'narrate', 'render-scenes',
                'assemble-video', 'countdown', 'countdown'])[1 + g % 8] AS task,
         random() AS r, random() AS w, random() AS d
  FROM generate_series(1, :rows) AS g
), timed AS (
  SELECT *, CASE WHEN task IN ('countdown', 'trigger-test') THEN 'default' ELSE 'video' END
              AS queue,
         created + interval '50 ms' AS enqueued,
         created + interval '50 ms' + power(w, 3) * interval '120 s' AS started,
         CASE WHEN r < 0.85 THEN 'finished' WHEN r < 0.93 THEN 'failed'
              WHEN r < 0.97 THEN 'stopped' ELSE 'canceled' END AS status
  FROM base
)
INSERT INTO background_jobs (id, task, queue, status, params, user_id, created_at,
                             enqueued_at, started_at, ended_at, updated_at, attempt)
SELECT gen_random_uuid(), task, queue, status, '{}', :user_id, created, enqueued,
       CASE WHEN status = 'canceled' THEN NULL ELSE started END,
       CASE WHEN status = 'canceled' THEN enqueued + interval '5 s'
            ELSE started + (0.5 + power(d, 2) * 300) * interval '1 s' END, now(), 1
FROM timed
"""
ACTIVE = """
INSERT INTO background_jobs (id, task, queue, status, params, user_id, created_at,
                             enqueued_at, started_at, updated_at)
SELECT gen_random_uuid(), 'countdown', 'default',
       (ARRAY['queued', 'started', 'scheduled', 'created'])[1 + g % 4], '{}', :user_id,
       now() - g * interval '1 s', now() - g * interval '1 s',
       CASE WHEN g % 4 = 1 THEN now() END, now()
FROM generate_series(1, 400) AS g
"""


def generate(db, user_id: int, rows: int, days: int) -> None:
    started = time.perf_counter()
    db.session.execute(text(GENERATE), {"rows": rows, "days": days, "user_id": user_id})
    db.session.execute(text(ACTIVE), {"user_id": user_id})
    db.session.commit()
    print(f"generated {rows:,} rows over {days} days in {time.perf_counter() - started:.1f} s")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE background_jobs"))


def sign_in(client, email: str, password: str) -> None:
    """Sign the test client in through the form, CSRF token and all."""
    html = client.get("/login").get_data(as_text=True)
    marker = 'name="csrf_token" value="'
    start = html.index(marker) + len(marker)
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": html[start:html.index('"', start)]})
    assert response.status_code == 303, response.status_code


def timings(client, path: str, headers: dict, repeat: int) -> tuple[float, float]:
    """(p50, p95) server time in ms of `repeat` GETs of `path` (after one warm-up)."""
    warm_up = client.get(path, headers=headers)
    assert warm_up.status_code == 200, (path, warm_up.status_code)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def measure(app, client, headers: dict, repeat: int, label: str) -> None:
    for window in ("1h", "24h", "7d"):
        for path in (f"/console/metrics?window={window}", f"/api/v1/metrics?window={window}"):
            p50, p95 = timings(client, path, headers, repeat)
            print(f"{label:10} {path:32} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cutroom-bench-"))
    database_url, redis_url, stop = services(base, DATABASE, recreate=not args.reuse)
    os.environ.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                       "CUTROOM_ENV": "development", "METRICS_TOKEN": TOKEN,
                       "DATABASE_STATEMENT_TIMEOUT": "0"})  # generating takes a while
    try:
        run(args)
    finally:
        for service in reversed(stop):
            service.stop()


def run(args) -> None:
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.auth.services import create_token, create_user
    from webapp.extensions import db
    from webapp.jobs import rollup
    from webapp.models import JobMetricsHour, User

    app = create_app()
    with app.app_context():
        upgrade()
        admin = db.session.query(User).filter_by(email="bench@example.com").one_or_none()
        if admin is None:
            admin = create_user("bench@example.com", PASSWORD, is_admin=True)
            db.session.commit()
        if not args.reuse or not db.session.execute(
                text("SELECT EXISTS (SELECT 1 FROM background_jobs)")).scalar():
            generate(db, admin.id, args.rows, args.days)
        _, secret = create_token(admin, "bench")
        db.session.commit()
        headers = {"Authorization": f"Bearer {secret}"}
        client = app.test_client()
        sign_in(client, admin.email, PASSWORD)
        db.session.query(JobMetricsHour).delete()
        db.session.commit()
        measure(app, client, headers, args.repeat, "rows only")
        started, hours = time.perf_counter(), 0
        while (rolled := rollup.roll_up(datetime.now(UTC))):
            db.session.commit()
            hours += rolled
        print(f"rollup of {hours} hours built in {time.perf_counter() - started:.2f} s "
              f"({db.session.query(JobMetricsHour).count()} rows)")
        measure(app, client, headers, args.repeat, "rollup")
        p50, p95 = timings(client, "/metrics", {"Authorization": f"Bearer {TOKEN}"},
                           args.repeat)
        print(f"{'scrape':10} {'/metrics':32} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
