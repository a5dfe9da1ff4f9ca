"""Submits per second: POST /api/v1/tasks/<name> against a bare enqueue and a bare outbox.

Three servers, each gunicorn with webapp/gunicorn_conf.py's settings, pinned with taskset to
--server-cpus, one after another under the same load (bench/submit_load.py: --connections
connections, each posting as soon as answered, for --seconds), from this process pinned to
--client-cpus:

  cutroom  the Procfile's `web` command (production mode), trigger-test jobs, each client
           with the bearer token of one of --users users (limits lifted)
  bare     plain Flask doing one RQ enqueue (bench/submit_anchors.py)
  outbox   plain Flask: insert `created`, commit, enqueue, update to `queued`

After each run every accepted request must have left exactly one `queued` row (an RQ job,
for bare) and no `created` row. No worker runs: the jobs stay queued.

Usage: python bench/submit.py [--seconds 20] [--connections 32] [--users 32]
       [--server-cpus 0] [--client-cpus 1] [--quick] [--summary FILE]
With DATABASE_URL / REDIS_URL unset it starts the embedded services in a temporary
directory. It uses its own database (cutroom_bench_submit) and Redis database 14, which it
empties. WEB_CONCURRENCY, WEB_THREADS and GUNICORN_CMD_ARGS pass through to gunicorn.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import migrated_app, services, unlimited, write_summary  # noqa: E402
from redis import Redis  # noqa: E402
from served import cpu_seconds, pin, settle, start, web_command  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from submit_load import Stats, load  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "cutroom_bench_submit"
TASK = "trigger-test"
TARGET_P99, TARGET_RATE = 25.0, 1000.0
ANCHOR = "gunicorn 'submit_anchors:{}()' --config python:webapp.gunicorn_conf"


def make_tokens(app, users: int) -> list[str]:
    """`users` users with lifted limits, and a bearer token of each."""
    from webapp.auth.services import create_token, create_user
    from webapp.extensions import db

    secrets_ = []
    with app.app_context():
        for n in range(users):
            user = create_user(f"submit-{n}@example.com", "bench-password-1")
            unlimited(user)
            secrets_.append(create_token(user, "bench")[1])
        db.session.commit()
    return secrets_


def check_rows(database_url: str, table: str, stats: Stats) -> str:
    """'' when every accepted id is one `queued` row and no row is `created`; else what not."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        counts = dict(connection.execute(text(
            f"SELECT status, count(*) FROM {table} GROUP BY status")).all())  # noqa: S608
        queued = set(connection.scalars(text(
            f"SELECT id::text FROM {table} WHERE status = 'queued'")))  # noqa: S608
    engine.dispose()
    accepted = set(stats.accepted)
    problems = []
    if len(accepted) != len(stats.accepted):
        problems.append("an id was answered twice")
    if accepted - queued:
        problems.append(f"{len(accepted - queued)} accepted ids are not queued rows")
    if counts.get("created"):
        problems.append(f"{counts['created']} rows are `created`")
    if sum(counts.values()) != len(accepted):
        problems.append(f"{sum(counts.values())} rows for {len(accepted)} accepted: {counts}")
    return "; ".join(problems)


def phase(label: str, url: str, headers: list[dict], args, pid: int) -> Stats:
    """One measured run (after a short warm-up that is not counted but checked)."""
    warm = load(url, headers, args.connections, args.warmup)
    settle(pid)
    server, client = cpu_seconds(pid), time.process_time()
    stats = load(url, headers, args.connections, args.seconds)
    server, client = cpu_seconds(pid) - server, time.process_time() - client
    stats.accepted = warm.accepted + stats.accepted
    count = max(1, len(stats.latencies))
    print(f"  {label:8} {stats.line()}  cpu/request: server {1000 * server / count:.2f} ms, "
          f"client {1000 * client / count:.2f} ms", flush=True)
    return stats


def serve(command: str, env: dict, cpus: str, log: Path) -> tuple[subprocess.Popen, str]:
    """Start one gunicorn (pinned to `cpus`) and wait for it; (process, base URL). The
    anchors have no /healthz: any answer will do."""
    port = 5900 + secrets.randbelow(90)
    process = start(command, env, cpus, port, log, ready_status=None,
                    pythonpath=(ROOT, ROOT / "bench"))
    return process, f"http://127.0.0.1:{port}"


def _check_rq(redis_url: str, stats: Stats) -> str:
    from submit_anchors import QUEUE

    count = Redis.from_url(redis_url).llen(f"rq:queue:{QUEUE}")
    return "" if count == len(stats.accepted) else f"{count} RQ jobs, {len(stats.accepted)} ok"


def run_all(args, env: dict, base: Path, database_url: str, tokens: list[str]) -> dict:
    """The three runs, one server at a time; {name: (stats, problems)}."""
    import submit_anchors

    submit_anchors.create_table()
    runs = [("cutroom", web_command(), f"/api/v1/tasks/{TASK}", "background_jobs"),
            ("bare", ANCHOR.format("bare"), "/submit", None),
            ("outbox", ANCHOR.format("outbox"), "/submit", "bench_outbox")]
    results = {}
    for name, command, path, table in runs:
        if args.only and name not in args.only:
            continue
        process, url = serve(command, env, args.server_cpus, base / f"{name}.log")
        headers = ([{"Authorization": f"Bearer {t}"} for t in tokens] if name == "cutroom"
                   else [{}])
        try:
            stats = phase(name, url + path, headers, args, process.pid)
        finally:
            os.killpg(process.pid, 15)
            process.wait(timeout=30)
        problems = (check_rows(database_url, table, stats) if table
                    else _check_rq(env["REDIS_URL"], stats))
        verdict = problems or "each accepted request left one queued row, none created"
        print(f"  {name:8} rows: {verdict}", flush=True)
        results[name] = (stats, problems)
    return results


def report(results: dict, args) -> None:
    """The result lines and the summary rows for bench/suite.py."""
    rows = []
    ours = results.get("cutroom")
    for name, (stats, _) in results.items():
        print(f"{name:8} {stats.rate:7.0f} req/s  p50 {stats.pct(0.5):6.1f} ms  "
              f"p99 {stats.pct(0.99):6.1f} ms")
    if ours is None:
        return
    stats, problems = ours
    for anchor in ("bare", "outbox"):
        if anchor in results:
            print(f"cutroom / {anchor}: {stats.rate / results[anchor][0].rate:.2f} of its req/s")
    bare = results.get("bare", (None,))[0]
    outbox = results.get("outbox", (None,))[0]
    rows.append({"goal": "submit", "measure": f"POST /tasks req/s, {args.connections} clients",
                 "cutroom": stats.rate, "anchor": bare.rate if bare else None,
                 "anchor_name": "bare RQ enqueue in Flask",
                 "ratio": stats.rate / bare.rate if bare else None,
                 "target": f">= {TARGET_RATE:.0f} req/s", "met": stats.rate >= TARGET_RATE})
    rows.append({"goal": "submit", "measure": "POST /tasks p99 ms",
                 "cutroom": stats.pct(0.99), "anchor": outbox.pct(0.99) if outbox else None,
                 "anchor_name": "minimal outbox in Flask",
                 "ratio": stats.pct(0.99) / outbox.pct(0.99) if outbox else None,
                 "target": f"< {TARGET_P99:.0f} ms", "met": stats.pct(0.99) < TARGET_P99})
    rows.append({"goal": "submit", "measure": "accepted = one queued row, none created",
                 "cutroom": len(stats.accepted), "target": "all", "met": not problems
                 and stats.errors == 0 and set(stats.statuses) == {202}})
    write_summary(args.summary, rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--only", nargs="+", choices=["cutroom", "bare", "outbox"])
    parser.add_argument("--summary", help="write the figures for bench/suite.py here")
    parser.add_argument("--quick", action="store_true", help="5 s runs (a smoke test)")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup = 5.0, 1.0
    base = Path(tempfile.mkdtemp(prefix="cutroom-submit-"))
    database_url, redis_url, stopping = services(base, DATABASE)
    try:
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
        app = migrated_app(database_url, redis_url)
        Redis.from_url(redis_url).flushdb()
        tokens = make_tokens(app, args.users)
        pin(args.client_cpus)
        print(f"servers: gunicorn (webapp/gunicorn_conf.py) pinned with taskset -c "
              f"{args.server_cpus or 'all'}; load generator pinned to cpus "
              f"{sorted(os.sched_getaffinity(0))}; PostgreSQL and Redis unpinned; "
              f"{args.connections} connections, {args.users} users, {args.seconds:.0f} s; "
              f"WEB_CONCURRENCY={os.environ.get('WEB_CONCURRENCY', 'default')} "
              f"WEB_THREADS={os.environ.get('WEB_THREADS', 'default')}", flush=True)
        report(run_all(args, dict(os.environ), base, database_url, tokens), args)
    finally:
        for service in reversed(stopping):
            service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
