"""The queues' numbers stay fast on a big table: a million job rows (about three months of
history, 3,000 of them unfinished), p95 under 50 ms. Then a backlog of 100,000 waiting jobs
on top (a queue paused for hours): every one of them is counted, which takes longer; its
time is measured, and its median bounded well below what reading the whole table takes.

The rows are the test's own, in its transaction: never vacuumed, so PostgreSQL cannot read
the indexes alone (an index-only scan) and fetches each unfinished row from the table. That
is the worst case; vacuumed, the million rows took about 9 ms here."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from tests.support import make_user
from webapp.extensions import db
from webapp.queues import stats

ROWS = 1_000_000
BACKLOG = 100_000
RUNS = 40

# Every 1,000th row is waiting, running or scheduled; 2% failed, 1% canceled; the rest
# finished; one row every 8 seconds, newest first; a fifth on the video queue.
HISTORY = """
INSERT INTO background_jobs (id, task, queue, status, params, user_id, created_at,
                             enqueued_at, started_at, ended_at, updated_at)
SELECT gen_random_uuid(), 'countdown', CASE WHEN i % 5 = 0 THEN 'video' ELSE 'default' END,
       s.status, '{}'::jsonb, :user, t - interval '1 second', t, t, t, t
FROM generate_series(1, :rows) AS i,
     LATERAL (SELECT now() - i * interval '8 seconds' AS t) AS at,
     LATERAL (SELECT CASE WHEN i % 1000 = 1 THEN 'queued' WHEN i % 1000 = 2 THEN 'started'
                          WHEN i % 1000 = 3 THEN 'scheduled' WHEN i % 50 = 4 THEN 'failed'
                          WHEN i % 100 = 5 THEN 'canceled' ELSE 'finished' END AS status) AS s
"""
WAITING = """
INSERT INTO background_jobs (id, task, queue, status, params, user_id, created_at,
                             enqueued_at, updated_at)
SELECT gen_random_uuid(), 'countdown', 'default', 'queued', '{}'::jsonb, :user,
       now() - i * interval '100 milliseconds', now() - i * interval '100 milliseconds', now()
FROM generate_series(1, :rows) AS i
"""


def _load(statement: str, user, rows: int) -> None:
    """Insert the rows, with neither the statement timeout nor the client's deadline
    (webapp/database.py) for that, then let the planner see them."""
    raw = db.session.connection().connection.dbapi_connection
    deadline, raw.deadline = raw.deadline, None
    db.session.execute(text("SET LOCAL statement_timeout = 0"))
    try:
        db.session.execute(text(statement), {"user": user.id, "rows": rows})
        db.session.execute(text("ANALYZE background_jobs"))
    finally:
        db.session.execute(text("SET LOCAL statement_timeout TO DEFAULT"))
        raw.deadline = deadline


def _p95(redis) -> tuple[float, float]:
    """(p95, median) seconds of the queues' numbers, over RUNS calls."""
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        stats.queue_stats(redis)
        times.append(time.perf_counter() - started)
    times.sort()
    return times[int(len(times) * 0.95) - 1], times[len(times) // 2]


@pytest.mark.timeout(900)
def test_queue_numbers_at_a_million_rows(db_session, redis, capsys):
    user = make_user()
    loading = time.monotonic()
    _load(HISTORY, user, ROWS)
    loaded = time.monotonic() - loading
    by_queue = {q.name: q for q in stats.queue_stats(redis)}
    assert by_queue["default"].waiting + by_queue["video"].waiting == ROWS // 1000
    assert 0 < by_queue["default"].failed_24h + by_queue["video"].failed_24h < 300
    history = _p95(redis)

    _load(WAITING, user, BACKLOG)
    assert stats.queue_stats(redis)[0].waiting == ROWS // 1000 + BACKLOG  # all on default
    backlog = _p95(redis)
    with capsys.disabled():
        print(f"\nqueue numbers: {ROWS:,} rows (loaded in {loaded:.0f} s): p95 "
              f"{history[0] * 1000:.1f} ms, median {history[1] * 1000:.1f} ms; with "
              f"{BACKLOG:,} more waiting: p95 {backlog[0] * 1000:.1f} ms, median "
              f"{backlog[1] * 1000:.1f} ms")
    assert history[0] < 0.05
    # Counting 100,000 rows: a median of 60-90 ms here (p95 up to about 200 ms on a busy
    # machine); reading the whole table instead takes about 460 ms.
    assert backlog[1] < 0.2
