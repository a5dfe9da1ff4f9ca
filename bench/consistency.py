"""The consistency panel at a million job rows: how long the panel, its API and the admins'
banner take, and one "check now" (the doctor) for comparison.

Seeds 1,000,000 job rows (1,000 of them queued with no RQ job, so they disagree) and 30 days
of reconciler history at one pass per 30 s (86,400 rows, one in ten with repairs), then
times requests through the Flask test client (no network, one process).

Usage: python bench/consistency.py [--jobs N] [--requests N]. With DATABASE_URL / REDIS_URL
unset it starts the embedded services in a temporary directory. It uses its own database
(cutroom_bench_consistency) and Redis database 14, which it empties.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import migrated_app, services  # noqa: E402  (bench/ is on sys.path)
from redis import Redis  # noqa: E402
from sqlalchemy import text  # noqa: E402

PASSWORD = "bench-password"
KINDS = ["created_enqueued", "lost_requeued", "abandoned_failed", "outcome_applied",
         "stop_settled", "scratch_swept", "pruned"]


def seed(db, user_id: int, jobs: int) -> None:
    """Old finished rows, a thousand queued ones RQ never saw, 30 days of passes (in
    batches of 100,000, each without the app's statement timeout)."""
    for start in range(0, jobs - 1000, 100_000):
        db.session.execute(text("SET LOCAL statement_timeout = 0"))
        db.session.execute(text("""
            INSERT INTO background_jobs (id, task, queue, status, params, user_id, created_at,
                                         ended_at, updated_at)
            SELECT gen_random_uuid(), 'countdown', 'default', 'finished', '{}'::jsonb, :user,
                   t, t + interval '5 seconds', t + interval '5 seconds'
            FROM (SELECT now() - interval '2 days' - random() * interval '28 days' AS t
                  FROM generate_series(1, :n)) AS s"""),
            {"user": user_id, "n": min(100_000, jobs - 1000 - start)})
        db.session.commit()
    db.session.execute(text("SET LOCAL statement_timeout = 0"))
    db.session.execute(text("""
        INSERT INTO background_jobs (id, task, queue, status, params, user_id)
        SELECT gen_random_uuid(), 'countdown', 'default', 'queued', '{}'::jsonb, :user
        FROM generate_series(1, 1000)"""), {"user": user_id})
    db.session.execute(text("""
        INSERT INTO reconciler_passes (started_at, ended_at, repairs, disagreements)
        SELECT t - interval '1 second', t,
               CASE WHEN i % 10 = 0 THEN jsonb_build_object(
                   (CAST(:kinds AS text[]))[1 + i % 7], 1 + i % 5,
                   (CAST(:kinds AS text[]))[1 + (i / 7) % 7], 2)
                    ELSE '{}'::jsonb END,
               0
        FROM (SELECT i, now() - i * interval '30 seconds' AS t
              FROM generate_series(1, 86400) AS i) AS s"""), {"kinds": KINDS})
    db.session.commit()
    db.session.execute(text("SET LOCAL statement_timeout = 0"))
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def timed(call, count: int) -> tuple[float, float]:
    """(p50, p95) in milliseconds over `count` calls, after a few warm-up calls."""
    for _ in range(5):
        call()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=20)
    return statistics.median(times), cuts[18]


def ok(response) -> None:
    assert response.status_code == 200, response.status_code


def measure(app, requests: int) -> None:
    from webapp.auth.services import create_user
    from webapp.consistency import banner, service
    from webapp.extensions import db

    with app.app_context():
        admin = create_user("admin@example.com", PASSWORD, is_admin=True)
        db.session.commit()
        started = time.perf_counter()
        seed(db, admin.id, ARGS.jobs)
        print(f"seeded {ARGS.jobs:,} job rows and 86,400 passes in "
              f"{time.perf_counter() - started:.0f} s")
        client = app.test_client()
        ok_login = client.post("/login", data={"email": admin.email, "password": PASSWORD})
        assert ok_login.status_code == 303, ok_login.status_code
        started = time.perf_counter()
        ok(client.post("/console/consistency/check", follow_redirects=True))
        print(f"check now (the doctor over the active and recent rows): "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
        rows = [
            ("GET /console/consistency", lambda: ok(client.get("/console/consistency"))),
            ("GET /api/v1/consistency", lambda: ok(client.get("/api/v1/consistency"))),
            ("repairs in 24 h (the chart's query)",
             lambda: service.repairs_since(service.status().now - service.REPAIRS_PERIOD)),
        ]
        for label, call in rows:
            p50, p95 = timed(call, requests)
            print(f"{label:40} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
        with app.test_request_context("/"):
            from flask import g
            from flask_login import login_user

            login_user(admin)

            def fresh_banner():
                g.pop(banner._CACHE, None)
                banner.banner_warnings()

            p50, p95 = timed(fresh_banner, requests)
            print(f"{'the banner (per page, uncached)':40} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms")
        plan = db.session.execute(text(
            "EXPLAIN ANALYZE SELECT kv.key, sum(kv.value::bigint) FROM reconciler_passes "
            "JOIN jsonb_each_text(repairs) AS kv ON true WHERE ended_at > now() - "
            "interval '24 hours' AND repairs <> '{}'::jsonb GROUP BY kv.key")).scalars().all()
        print("\n".join(line for line in plan if "Scan" in line or "Execution" in line))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    global ARGS
    ARGS = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cutroom-bench-"))
    database_url, redis_url, stop = services(base, "cutroom_bench_consistency")
    try:
        app = migrated_app(database_url, redis_url)
        Redis.from_url(redis_url).flushdb()
        measure(app, ARGS.requests)
    finally:
        for service in reversed(stop):
            service.stop()


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
