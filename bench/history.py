"""The operator console at a million rows: server time of each view, as an admin and as a
user with 10,000 jobs.

It fills its own database (cutroom_history) with 1,000,000 job rows in one INSERT ... SELECT
over generate_series: 100 users (an admin, a heavy user with 10,000 jobs, 98 sharing the
rest), 10 projects each, a realistic spread of tasks (test tasks and render stages), statuses
(mostly finished; the active ones recent), error codes and messages, and 90 days of
timestamps. Then it asks the app in process (Flask's test client: server time, no network)
for each explorer filter's first page and a deep page, the counts, the metrics for each
window, the queues page and the consistency panel: once, then REPEAT rounds of every view
(interleaved, so noise spreads over all), and prints the first time, p50 and p95. The first
is the one to read for a capped count: the explorer remembers a count over its cap for a
minute (webapp/explorer/counts.py), so the rounds after it show a repeat visit.

Usage: python bench/history.py [--rows N] [--repeat R] [--keep]. With DATABASE_URL /
REDIS_URL unset it starts the embedded services in a temporary directory; --keep reuses a
database filled by an earlier run with the same --rows.
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
from history_data import HEAVY, fill  # noqa: E402
from sqlalchemy import text  # noqa: E402

DATABASE = "cutroom_history"
PASSWORD = "bench-password-1"
TARGETS = {"list": 50.0, "chart": 200.0}  # ms, p95


def views(db, heavy: bool) -> list[tuple[str, str, str]]:
    """(kind, label, path) of every view timed; ids and values come from the data."""
    row = db.session.execute(text(
        "SELECT id::text, project_id FROM background_jobs WHERE user_id = :u AND project_id"
        " IS NOT NULL ORDER BY created_at DESC OFFSET 100 LIMIT 1"),
        {"u": _user_id(db, HEAVY)}).one()
    prefix, project = row[0][:6], row[1]
    lists = [
        ("first page", "/jobs"),
        ("first page, 100 a page", "/jobs?per_page=100"),
        ("status=failed", "/jobs?status=failed"),
        ("status=failed&stopped", "/jobs?status=failed&status=stopped"),
        ("task=countdown", "/jobs?task=countdown"),
        ("queue=video", "/jobs?queue=video"),
        ("project", f"/jobs?project_id={project}"),
        ("error_code=timeout", "/jobs?error_code=timeout"),
        ("stage", "/jobs?stage=Step+3+of+10"),
        ("q=id prefix", f"/jobs?q={prefix}"),
        ("q=error text", "/jobs?q=narration+service"),
        ("q=parameter", "/jobs?q=hello+4242"),
        ("created last 24 h", "/jobs?created_after=" + _ago(db, "1 day")),
        ("ended 30-60 days ago", "/jobs?ended_after=" + _ago(db, "60 days")
         + "&ended_before=" + _ago(db, "30 days")),
        ("API first page", "/api/v1/jobs"),
        ("API status=finished", "/api/v1/jobs?status=finished"),
    ]
    if not heavy:
        lists.append(("user=heavy", f"/jobs?user={HEAVY}"))
    out = [("list", label, path) for label, path in lists]
    out += [("chart", f"metrics {w}", f"/console/metrics?window={w}") for w in ("1h", "24h", "7d")]
    out += [("chart", f"API metrics {w}", f"/api/v1/metrics?window={w}")
            for w in ("1h", "24h", "7d")]
    out += [("list", "queues", "/console/queues"), ("list", "consistency", "/console/consistency")]
    return out if not heavy else [v for v in out if v[2].startswith(("/jobs", "/api/v1/jobs"))]


def _user_id(db, email: str) -> int:
    return db.session.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": email})


def _ago(db, interval: str) -> str:
    return db.session.scalar(text(f"SELECT to_char(now() - interval '{interval}',"
                                  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"))


def deep_page(client, path: str, pages: int) -> str:
    """The URL of page `pages` of an API listing, walking its next_cursor links."""
    sep = "&" if "?" in path else "?"
    cursor = None
    for _ in range(pages):
        url = path + (f"{sep}cursor={cursor}" if cursor else "")
        following = client.get(url).get_json().get("next_cursor")
        if not following:  # a listing shorter than `pages`: its last page
            break
        cursor = following
    return path + (f"{sep}cursor={cursor}" if cursor else "")


def timed(client, paths: list[str], repeat: int) -> list[tuple[float, float, float, int]]:
    """(first ms, p50 ms, p95 ms, status) of each path: a first request, then `repeat`
    rounds that ask for every path once each, so that a burst of noise on a shared machine
    spreads over all the views instead of landing on one."""
    def get(path: str) -> tuple[float, int]:
        started = time.perf_counter()
        status = client.get(path).status_code
        return (time.perf_counter() - started) * 1000, status

    firsts = [get(path) for path in paths]
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(repeat):
        for i, path in enumerate(paths):
            times[i].append(get(path)[0])
    out = []
    for (first, status), samples in zip(firsts, times, strict=True):
        samples.sort()
        p95 = samples[min(len(samples) - 1, int(round(0.95 * (len(samples) - 1))))]
        out.append((first, statistics.median(samples), p95, status))
    return out


def signed_in(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 303, f"sign-in of {email} failed: {response.status_code}"
    me = client.get("/api/v1/me").get_json()
    assert me["email"] == email, f"signed in as {me['email']}, not {email}"
    return client


def report(app, db, repeat: int) -> int:
    """Print the table; the number of views over their target.

    No app context is held around the requests: each request has its own, as under
    gunicorn (one held open would keep the session, its transaction and the signed-in
    user of the first client for every later request)."""
    over = 0
    print(f"{'as':6} {'view':28} {'status':>6} {'first ms':>8} {'p50 ms':>8} {'p95 ms':>8}"
          f" {'target':>7}")
    for who, email, heavy in (("admin", "admin@bench.example", False), ("user", HEAVY, True)):
        client = signed_in(app, email)
        with app.app_context():
            rows = views(db, heavy)
        rows.append(("list", "deep page (API, 200 in)", deep_page(client, "/api/v1/jobs", 200)))
        rows.append(("list", "deep page failed (100 in)",
                     deep_page(client, "/api/v1/jobs?status=failed", 100)))
        results = timed(client, [path for _, _, path in rows], repeat)
        for (kind, label, _), (first, p50, p95, status) in zip(rows, results, strict=True):
            flag = "" if p95 <= TARGETS[kind] and status == 200 else "  <-- over"
            over += bool(flag)
            print(f"{who:6} {label:28} {status:>6} {first:8.1f} {p50:8.1f} {p95:8.1f}"
                  f" {TARGETS[kind]:>7.0f}{flag}")
    return over


def reconciler_ran(db) -> None:
    """A reconciler pass ended just now, as with a running reconciler: the admins' banner
    then reads one row, as in production (with no pass it looks twice and warns)."""
    db.session.execute(text(
        "INSERT INTO reconciler_passes (started_at, ended_at, manual, repairs, disagreements,"
        " problems, sample) VALUES (now(), now(), false, '{}', 0, '{}', '[]')"))
    db.session.commit()


def machine_speed(db) -> str:
    """How fast this machine is now, to compare runs of a shared machine by: a fixed
    Python loop and a PostgreSQL round trip (medians of several)."""
    loops, trips = [], []
    for _ in range(7):
        started = time.perf_counter()
        sum(i * i for i in range(200_000))
        loops.append((time.perf_counter() - started) * 1000)
    for _ in range(200):
        started = time.perf_counter()
        db.session.execute(text("SELECT 1"))
        trips.append((time.perf_counter() - started) * 1e6)
    return (f"machine now: a 200,000-step Python loop {statistics.median(loops):.1f} ms, "
            f"a PostgreSQL round trip {statistics.median(trips):.0f} us")


def catch_up_rollup(db) -> int:
    """The metrics' hourly rollup as a running reconciler keeps it (a pass does at most a
    day of hours): the steady state the charts are timed in."""
    from datetime import UTC, datetime

    from webapp.jobs import rollup

    total = 0
    while hours := rollup.roll_up(datetime.now(UTC)):
        db.session.commit()
        total += hours
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="reuse an earlier fill")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cutroom-history-"))
    database_url, redis_url, stop = services(base, DATABASE, recreate=not args.keep)
    try:
        from webapp.extensions import db

        app = migrated_app(database_url, redis_url)
        with app.app_context():
            started = time.perf_counter()
            filled = fill(database_url, args.rows, PASSWORD)
            if filled:
                print(f"filled {args.rows:,} job rows in {time.perf_counter() - started:.0f} s")
            hours = catch_up_rollup(db)
            if hours:
                print(f"rolled up {hours} hour(s) of metrics, as the reconciler does")
            reconciler_ran(db)
            print(machine_speed(db))
        over = report(app, db, args.repeat)
        with app.app_context():
            print(machine_speed(db))
        print(f"{over} view(s) over target" if over else "every view within its target")
        return 1 if over else 0
    finally:
        for service in reversed(stop):
            service.stop()


if __name__ == "__main__":
    sys.exit(main())
