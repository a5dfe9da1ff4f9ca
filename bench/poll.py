"""Open dashboards on one host: one poll per page per interval, against per-card polling.

The web process is the Procfile's `web` command (gunicorn with webapp/gunicorn_conf.py, in
production mode), pinned with taskset to --server-cpus; this process, the load generator,
and the process that changes jobs meanwhile are pinned to --client-cpus. Each dashboard is
a user with --cards live (`started`) jobs, signed in (a real server-side session, its
cookie signed with the server's key), its home page's state read as the page renders it.

  poll   --dashboards pages, each asking /live every --interval seconds, as the page's one
         poller does (bench/poll_client.py), while --change of the dashboards per interval
         see one of their jobs make progress (so some polls bring a card back)
         The number of dashboards is stepped up (--poll-steps, then --dashboards) to find
         the most served with p99 under 100 ms and no error.
  cards  the anchor, today's polling: every live card asking its own fragment
         (/jobs/<id>/card) every interval; the rate is stepped up to find the most card
         requests per second served with p99 under 100 ms, i.e. how many such dashboards
  floor  gunicorn alone, same settings and cores, answering each poll of all the dashboards
         with an empty 204 (bench/empty_poll.py): the server CPU per poll that is not the
         app's, beside Cutroom's at the same rate

Jobs change only while a phase runs, and only those of the dashboards that poll in it
(dashboards that stood still while their jobs changed, between phases or left out of a
smaller step, would all catch up at once when the next phase starts, which open
dashboards, polling all the time, never do: that backlog showed as p99s of 0.3-2.4 s);
each phase starts with one unmeasured interval, and the load generator's own garbage collector
is off while it measures (bench/gc_pause.py): one of its full collections stopped it for
~100 ms, which showed as a p99 of 100-300 ms for the server, empty 204s included.
Both are measured in the same run, on the same server and data, each step once the server
is idle again; the ratio of the two capacities is the figure to compare between runs (the
machine is shared: absolute figures move with whatever else runs).

Usage: python bench/poll.py [--dashboards 2000] [--cards 10] [--interval 2] [--seconds 20]
       [--change 0.05] [--server-cpus 0] [--client-cpus 1] [--card-rates 50,100,...]
       [--poll-steps 250,500,...] [--step-seconds 8]
With DATABASE_URL / REDIS_URL unset it starts the embedded services in a temporary
directory. It uses its own database (cutroom_bench_poll) and Redis database 14, which it
empties. WEB_CONCURRENCY, WEB_THREADS and GUNICORN_CMD_ARGS pass through to gunicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from common import migrated_app, services, write_summary  # noqa: E402  (bench/ is on sys.path)
from hoststat import cpu_ticks, steal_share  # noqa: E402
from http_load import event_loop_policy  # noqa: E402
from poll_client import USER_AGENT, Dashboard, opening, run  # noqa: E402
from poll_setup import dashboards_for, fill  # noqa: E402
from served import ROOT, cpu_seconds, pin, settle, start, web_command  # noqa: E402

DATABASE = "cutroom_bench_poll"
TARGET_P99 = 100.0  # ms


def changer(env: dict[str, str], cpus: str, job_ids: list[list[str]], per_board: float,
            stop, polling) -> None:
    """Another process: one job of a random polling dashboard makes progress, per_board
    times a second for each dashboard that polls, while `polling` (a shared int) says how
    many poll (the first ones of job_ids; 0 between phases). Only those: open dashboards,
    polling all the time, never stand still while their jobs change, as the dashboards a
    step leaves out would (the next step's first interval would then be hundreds of
    catch-ups at once: p99s of 1-2 s that no open dashboard sees)."""
    os.environ.update(env)
    pin(cpus)
    import random

    from webapp import create_app
    from webapp.extensions import db
    from webapp.jobs import transitions

    app = create_app({"TESTING": False})
    with app.app_context():
        step = 0
        while not stop.is_set():
            count = polling.value
            if not count:
                time.sleep(0.2)
                continue
            step += 1
            job = random.choice(random.choice(job_ids[:count]))
            transitions.record_progress(job, step % 100, f"Step {step}")
            db.session.commit()
            time.sleep(1 / (per_board * count) if per_board else 1)


def warm_up(base: str, boards: list[Dashboard], args) -> None:
    """Dashboards open one after another, not all in the same two seconds: each one's
    first poll takes the full path (its session is checked in PostgreSQL once)."""
    started = time.perf_counter()
    stats = asyncio.run(opening(base, boards, args.connections))
    print(f"  opened in {time.perf_counter() - started:.0f} s (first polls: "
          f"{dict(stats.statuses)}, errors {stats.errors})", flush=True)


def phase(label: str, base: str, boards: list[Dashboard], args, mode: str, seconds: float):
    """One measured run; besides latency, the CPU the server and this process used."""
    client, ticks = time.process_time(), cpu_ticks()
    args.polling.value = len(boards)  # phases poll the first len(boards) dashboards
    try:
        stats = asyncio.run(run(base, boards, args.interval, seconds, mode, args.connections,
                                meter=lambda: cpu_seconds(args.web_pid)))
    finally:
        args.polling.value = 0
    client = time.process_time() - client
    requests = max(1, len(stats.latencies))
    stats.server_ms = 1000 * stats.metered / requests
    print(f"  {label:34} {stats.line()}  cpu/request: server {stats.server_ms:.2f}"
          f" ms, client {1000 * client / requests:.2f} ms (warm-up included); steal "
          f"{100 * steal_share(ticks, cpu_ticks()):.0f} %", flush=True)
    return stats


def floor(boards: list[Dashboard], args, env) -> float:
    """gunicorn as the Procfile runs it, on the same cores, answering every poll of the same
    dashboards with an empty 204 (bench/empty_poll.py): its server CPU per poll, the part
    of a poll's cost that is gunicorn's own."""
    port = 5900 + secrets.randbelow(90)
    command = "exec gunicorn empty_poll:app --config python:webapp.gunicorn_conf"
    empty = start(command, env, args.server_cpus, port, args.base_dir / "empty.log",
                  pythonpath=(ROOT, ROOT / "bench"))
    web_pid, args.web_pid = args.web_pid, empty.pid
    try:
        settle(empty.pid)
        stats = phase(f"empty 204, {len(boards)} dashboards", f"http://127.0.0.1:{port}",
                      boards, args, "poll", args.seconds)
    finally:
        args.web_pid = web_pid
        os.killpg(empty.pid, 15)
        empty.wait(timeout=30)
    return stats.server_ms


def within(stats) -> bool:
    return stats.pct(0.99) <= TARGET_P99 and not stats.errors


def card_anchor(base: str, boards: list[Dashboard], args) -> float:
    """The most card requests/s within p99 TARGET_P99, stepping the rate up."""
    best = 0.0
    per_board = args.cards / args.interval
    for rate in (int(r) for r in args.card_rates.split(",")):
        count = max(1, round(rate / per_board))
        settle(args.web_pid)
        stats = phase(f"cards, {count} dashboards ({rate}/s asked)", base, boards[:count], args,
                      "cards", args.step_seconds)
        if not within(stats):
            break
        best = stats.rate
    return best


def poll_capacity(base: str, boards: list[Dashboard], args) -> int:
    """The most dashboards whose polls stay within p99 TARGET_P99, stepping up."""
    best = 0
    for count in (int(n) for n in args.poll_steps.split(",") if int(n) < len(boards)):
        settle(args.web_pid)
        stats = phase(f"poll, {count} dashboards", base, boards[:count], args, "poll",
                      args.step_seconds)
        if not within(stats):
            return best
        best = count
    return best


def check_page(base: str, board: Dashboard) -> None:
    """The first dashboard's real home page shows what the load generator starts from."""
    page = httpx.get(f"{base}/", headers={"Cookie": f"session={board.cookie}",
                                          "User-Agent": USER_AGENT}, timeout=30)
    if page.status_code != 200:
        raise SystemExit(f"the bench's session cookie does not sign in: {page.status_code}")
    shown = Dashboard(board.cookie, "", {})
    shown.apply(page.text)
    if shown.cards != board.cards or shown.poll_url != board.poll_url:
        raise SystemExit("the home page and the load generator's state differ")


def measure(base: str, boards: list[Dashboard], args, env) -> None:
    stop = multiprocessing.get_context("spawn").Event()
    args.polling = multiprocessing.get_context("spawn").Value("i", 0)
    per_second = args.change * len(boards) / args.interval
    job_ids = [board.job_ids for board in boards]
    moving = multiprocessing.get_context("spawn").Process(
        target=changer, args=(env, args.client_cpus, job_ids, args.change / args.interval,
                              stop, args.polling),
        daemon=True)
    moving.start()
    print(f"poll: up to {len(boards)} dashboards x {args.cards} live cards, every "
          f"{args.interval} s; {100 * args.change:.0f}% of dashboards see a job change per "
          f"interval ({per_second:.0f} changes/s at {len(boards)})")
    warm_up(base, boards, args)
    capacity = poll_capacity(base, boards, args) if args.poll_steps else 0
    settle(args.web_pid)
    polls = phase(f"poll, {len(boards)} dashboards", base, boards, args, "poll", args.seconds)
    if within(polls):
        capacity = len(boards)
    stop.set()
    moving.join(timeout=10)
    print("floor: gunicorn alone, an empty 204 for every poll, same cores and rate")
    empty_ms = floor(boards, args, env)
    print("anchor: per-card polling (today), same server and data")
    best = card_anchor(base, boards, args) if args.card_rates else 0.0
    dashboards_today = best * args.interval / args.cards
    print(f"\nresult: {polls.rate:.0f} polls/s for {len(boards)} dashboards, p50 "
          f"{polls.pct(0.5):.1f} ms, p99 {polls.pct(0.99):.1f} ms, 204 share "
          f"{100 * polls.share(204):.1f} %, errors {polls.errors}")
    print(f"poll: {capacity} dashboards within p99 {TARGET_P99:.0f} ms (of the steps tried)")
    print(f"anchor: {best:.0f} card requests/s within p99 {TARGET_P99:.0f} ms = "
          f"{dashboards_today:.0f} dashboards of {args.cards} live cards")
    if dashboards_today:
        print(f"ratio: {capacity / dashboards_today:.1f}x the dashboards within p99 "
              f"{TARGET_P99:.0f} ms")
    cores, host = server_cores(args.server_cpus), os.cpu_count() or 1
    cores_text = f"{cores} core{'s' if cores > 1 else ''}"
    whole_host = cores >= host  # the target is the host's; fewer cores only inform
    write_summary(args.summary, [
        {"goal": "live", "measure": f"dashboards, p99 < 100 ms, server: {cores_text}",
         "cutroom": capacity, "anchor": dashboards_today,
         "anchor_name": "per-card polling",
         "target": f">= {args.dashboards}" if whole_host else f"({cores} of {host} cores)",
         "ratio": capacity / dashboards_today if dashboards_today else None,
         "met": capacity >= args.dashboards and not polls.errors if whole_host else None},
        {"goal": "live", "measure": f"server CPU ms/poll, {len(boards)} dashboards, {cores_text}",
         "cutroom": polls.server_ms, "anchor": empty_ms, "anchor_name": "gunicorn, empty 204",
         "ratio": polls.server_ms / empty_ms if empty_ms else None,
         "target": "(the floor; no target)", "met": None}])


def server_cores(cpus: str) -> int:
    """How many cores a taskset list ("0", "0,1", "0-3"; "" for all) names."""
    if not cpus:
        return os.cpu_count() or 1
    count = 0
    for part in cpus.split(","):
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dashboards", type=int, default=2000)
    parser.add_argument("--cards", type=int, default=10)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--change", type=float, default=0.05,
                        help="share of dashboards with a job change per interval")
    parser.add_argument("--server-cpus", default="0")
    parser.add_argument("--client-cpus", default="1")
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--card-rates", default="50,100,150,200,300,400,500,600,800")
    parser.add_argument("--poll-steps", default="250,500,750,1000,1500",
                        help="dashboards to step through before the full number")
    parser.add_argument("--summary", help="write the figures for bench/suite.py here")
    parser.add_argument("--quick", action="store_true",
                        help="200 dashboards, 8 s, three anchor steps (a smoke test)")
    args = parser.parse_args()
    event_loop_policy()
    if args.quick:
        args.dashboards, args.seconds, args.step_seconds = 200, 8.0, 4.0
        args.card_rates = "200,400,600"
    base_dir = Path(tempfile.mkdtemp(prefix="cutroom-poll-"))
    database_url, redis_url, stop = services(base_dir, DATABASE)
    # Only now: embedded PostgreSQL and Redis, started above, must not inherit this pin (on
    # the load generator's core they slowed it into the measured latency).
    pin(args.client_cpus)
    web = None
    try:
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
        app = migrated_app(database_url, redis_url)
        with app.app_context():
            from webapp.extensions import db
            from webapp.jobs.connection import get_redis

            get_redis().flushdb()
            users = fill(db, args.dashboards, args.cards)
            boards = dashboards_for(app, users)
        env = dict(os.environ)
        port = 5600 + secrets.randbelow(300)
        web = start(web_command(), env, args.server_cpus, port, base_dir / "web.log")
        print(f"gunicorn as the Procfile runs it (taskset -c {args.server_cpus or 'all'}); "
              f"load generator on cpus {args.client_cpus or 'all'}; "
              f"WEB_CONCURRENCY={env.get('WEB_CONCURRENCY', 'default')} "
              f"WEB_THREADS={env.get('WEB_THREADS', 'default')} "
              f"GUNICORN_CMD_ARGS={env.get('GUNICORN_CMD_ARGS', '')!r}")
        args.web_pid, args.base_dir = web.pid, base_dir
        check_page(f"http://127.0.0.1:{port}", boards[0])
        measure(f"http://127.0.0.1:{port}", boards, args, env)
    finally:
        if web is not None:
            os.killpg(web.pid, 15)
            web.wait(timeout=30)
        for service in reversed(stop):
            service.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
