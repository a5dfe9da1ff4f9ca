"""The jobs explorer at scale: list and count times for each filter over a million jobs.

It fills its own database (cutroom_bench_explorer) with `--rows` jobs (1,000,000) of 500
users and one user with `--user-jobs` (10,000), spread over 90 days, then times each filter
of webapp/explorer/search.py as an admin and as that user: the first page, a deep page (a
cursor half way through the matching jobs) and the capped count, `--runs` times each, and
prints the median and p95 in milliseconds. `--reuse` keeps a database filled before.

Usage: python bench/explorer.py [--rows N] [--user-jobs N] [--runs N] [--reuse] [--explain]
With DATABASE_URL unset it starts the embedded PostgreSQL, which has no pg_trgm: the
free-text search (`q`) then reads every row the other filters leave.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qsl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import services  # noqa: E402  (bench/ is on sys.path as the script's folder)
from sqlalchemy import select, text  # noqa: E402
from werkzeug.datastructures import MultiDict  # noqa: E402

DATABASE = "cutroom_bench_explorer"
HEAVY = "heavy@example.com"
# One query string per filter (the explorer's own parameter names).
FILTERS = [
    "", "status=failed", "status=failed&status=stopped", "status=queued", "status=started",
    "task=fail-test", "task=narrate", "queue=video", "user=" + HEAVY, "project_id=77",
    "error_code=timeout", "error_code=lost", "stage=narrating", "q=boom-7",
    "q=deliberate", "q=zebra", "q=3fa", "created_after=2026-10-01&created_before=2026-10-02",
    "ended_after=2026-11-01T06:00&ended_before=2026-11-01T12:00",
]

FILL = """
INSERT INTO users (email, password_hash)
SELECT 'user' || n || '@example.com', 'x' FROM generate_series(1, 500) n;
INSERT INTO users (email, password_hash) VALUES (:heavy, 'x');
INSERT INTO users (email, password_hash, is_admin) VALUES ('admin@example.com', 'x', true);
INSERT INTO projects (user_id, title) SELECT 1 + n % 500, 'Project ' || n
FROM generate_series(1, 5000) n;
INSERT INTO background_jobs (id, task, queue, status, params, error, error_code, stage,
    user_id, project_id, created_at, ended_at, progress, attempt)
SELECT md5(n::text)::uuid, t.task, t.queue, s.status, t.params, e.error, e.code, t.stage,
       CASE WHEN ('x' || substr(md5(n::text || 'owner'), 1, 7))::bit(28)::int
                 % (:rows / :user_jobs) = 0 THEN 501 ELSE 1 + n % 500 END,
       CASE WHEN t.queue = 'video' THEN 1 + n % 5000 END,
       c.created, CASE WHEN s.status IN ('finished', 'failed', 'stopped', 'canceled')
                       THEN c.created + (n % 600) * interval '1 second' END, 0, 1
FROM generate_series(1, :rows) n
CROSS JOIN LATERAL (SELECT timestamptz '2026-09-01' + n * (interval '90 days' / :rows)
                    AS created) c
CROSS JOIN LATERAL (SELECT CASE WHEN n % 1000 < 800 THEN 'finished'
    WHEN n % 1000 < 880 THEN 'failed' WHEN n % 1000 < 930 THEN 'canceled'
    WHEN n % 1000 < 950 THEN 'stopped' WHEN n % 1000 < 970 THEN 'queued'
    WHEN n % 1000 < 975 THEN 'started' WHEN n % 1000 < 980 THEN 'scheduled'
    WHEN n % 1000 < 990 THEN 'deferred' ELSE 'created' END AS status) s
CROSS JOIN LATERAL (SELECT * FROM (VALUES
    (0, 'countdown', 'default', jsonb_build_object('steps', n % 600 + 1), 'Step 3 of 10'),
    (1, 'trigger-test', 'default', jsonb_build_object('message', 'hello ' || md5(n::text)),
     'Pausing 1 s'),
    (2, 'fail-test', 'default', jsonb_build_object('message', 'Deliberate failure'),
     'Attempt 1'),
    (3, 'narrate', 'video', jsonb_build_object('project_id', 1 + n % 5000),
     'Narrating scene ' || n % 7)) v(k, task, queue, params, stage)
    WHERE v.k = CASE WHEN n % 10 < 4 THEN 0 WHEN n % 10 < 7 THEN 1 WHEN n % 10 < 8 THEN 2
                     ELSE 3 END) t
CROSS JOIN LATERAL (SELECT
    CASE WHEN s.status = 'failed' THEN 'RuntimeError: boom-' || n % 100 END AS error,
    CASE WHEN s.status = 'failed' THEN (ARRAY['exception', 'exception', 'exception',
         'timeout', 'killed', 'abandoned', 'exception', 'exception', 'exception', 'lost'])
         [1 + n / 1000 % 10] END AS code) e;
"""


def fill(rows: int, user_jobs: int) -> None:
    from webapp.extensions import db

    started = time.perf_counter()
    values = {"rows": rows, "user_jobs": user_jobs, "heavy": HEAVY}
    for statement in filter(str.strip, FILL.split(";")):
        db.session.execute(text(statement), values)
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    print(f"filled {rows:,} jobs in {time.perf_counter() - started:.0f} s", flush=True)


def timed(call, runs: int) -> tuple[float, float]:
    """(median, p95) milliseconds of `runs` calls, after one warm-up."""
    from webapp.extensions import db

    call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.95) - 1)]


def deep_cursor(where):
    """A cursor half way through the matching jobs (found with OFFSET, not timed)."""
    from webapp.explorer.cursor import Cursor
    from webapp.explorer.search import J, capped_count
    from webapp.extensions import db

    count, _ = capped_count(where, 1_000_000)
    row = db.session.execute(select(J.created_at, J.id).where(*where)
                             .order_by(J.created_at.desc(), J.id.desc())
                             .offset(count // 2).limit(1)).first()
    return Cursor(row[0], row[1]) if row else None


def measure(viewer, query: str, runs: int, explain: bool) -> list[float]:
    from webapp.explorer import filters, search

    where = search.conditions(filters.from_args(MultiDict(parse_qsl(query))), viewer)
    deep = deep_cursor(where)
    results = [*timed(lambda: search.keyset_page(where, None, 50), runs),
               *timed(lambda: search.keyset_page(where, deep, 50), runs),
               *timed(lambda: search.capped_count(where, 10_000), runs)]
    if explain:
        show_plans(where, deep)
    return results


def show_plans(where, deep) -> None:
    from sqlalchemy.dialects import postgresql

    from webapp.explorer.search import J, _after
    from webapp.extensions import db

    stmt = _after(select(J.id).where(*where), deep).order_by(
        J.created_at.desc(), J.id.desc()).limit(51)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    for line in db.session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars():
        print("    " + line)


def report(admin, heavy, runs: int, explain: bool) -> None:
    print(f"{'filter':<52} {'viewer':<6} {'first':>13} {'deep':>13} {'count':>13}  (ms: "
          "median/p95)")
    worst = 0.0
    for query in FILTERS:
        for label, viewer in (("admin", admin), ("user", heavy)):
            m = measure(viewer, query, runs, explain)
            worst = max(worst, m[1], m[3], m[5])
            cells = "".join(f" {m[i]:6.1f}/{m[i + 1]:6.1f}" for i in (0, 2, 4))
            print(f"{query or '(none)':<52} {label:<6}{cells}", flush=True)
    print(f"worst p95: {worst:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--user-jobs", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep a filled database")
    parser.add_argument("--explain", action="store_true", help="print each deep page's plan")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cutroom-bench-") as base:
        if args.reuse and os.environ.get("DATABASE_URL"):
            database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{DATABASE}"
            redis_url, stop = "redis://127.0.0.1:1/0", []
        else:
            database_url, redis_url, stop = services(Path(base), DATABASE)
        os.environ.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                           "CUTROOM_ENV": "development", "DATABASE_STATEMENT_TIMEOUT": "0"})
        try:
            run(args)
        finally:
            for service in stop:
                service.stop()


def run(args) -> None:
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import User

    app = create_app()
    with app.app_context():
        upgrade()
        if not db.session.scalar(text("SELECT EXISTS (SELECT 1 FROM background_jobs)")):
            fill(args.rows, args.user_jobs)
        admin = db.session.scalar(select(User).where(User.is_admin))
        heavy = db.session.scalar(select(User).where(User.email == HEAVY))
        report(admin, heavy, args.runs, args.explain)
        db.engine.dispose()


if __name__ == "__main__":
    main()
