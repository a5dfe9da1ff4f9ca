"""Jobs per second through one worker: bare RQ against full PostgreSQL tracking.

Each pair runs one worker in burst mode on the same Redis, measured in one run:

  bare     rq.Worker, jobs enqueued straight into RQ, no callbacks, no database
  tracked  CutroomWorker, jobs submitted through Cutroom (row first, then RQ), `started`
           written by the worker, one progress() write, success callback writing the result
  simple   rq.SimpleWorker (no fork), bare as above
  light    LightWorker (no fork), tracked as above

and the PostgreSQL sessions (pg_stat_database.sessions) each tracked run opened, and the
rate of one conditional UPDATE + COMMIT per job alone (what recording `started` before each
job costs at least).

Usage: python bench/throughput.py [--jobs N] [--rounds R]. With DATABASE_URL / REDIS_URL unset it
starts the embedded services in a temporary directory. It uses its own database
(cutroom_bench) and Redis database 14, which it empties.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bare_task import echo  # noqa: E402  (bench/ is on sys.path as the script's folder)
from common import services, unlimited, write_summary  # noqa: E402  (bench/ is on sys.path as the script's folder)
from redis import Redis  # noqa: E402
from rq import Queue, SimpleWorker, Worker  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402


def run_bare(redis: Redis, jobs: int, worker_class: type = Worker) -> float:
    queue = Queue("bench-bare", connection=redis)
    for i in range(jobs):
        queue.enqueue(echo, f"job {i}", result_ttl=600)
    worker = worker_class([queue], connection=redis)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    assert queue.finished_job_registry.count == jobs, "not every bare job finished"
    return jobs / elapsed


def run_tracked(app, jobs: int, light: bool = False) -> tuple[float, int]:
    from webapp.auth.services import create_user
    from webapp.extensions import db
    from webapp.jobs import service
    from webapp.jobs.cli import make_worker
    from webapp.jobs.registry import get_task
    from webapp.models import BackgroundJob

    with app.app_context():
        db.session.execute(text("TRUNCATE background_jobs, users CASCADE"))
        user = create_user("bench@example.com", "bench-password")
        unlimited(user)
        db.session.commit()
        task = get_task("trigger-test")
        for i in range(jobs):
            service.submit(task, {"message": f"job {i}"}, user)  # returns (job, replayed)
        sessions_before = _sessions(db)
        db.session.remove()
        db.engine.dispose()  # the worker's pool starts empty, as in a worker process
        # As `flask jobs worker` makes it (its Redis client, timeouts, result TTL).
        worker = make_worker((task.queue,), light=light)
        started = time.perf_counter()
        worker.work(burst=True, logging_level="WARNING")
        elapsed = time.perf_counter() - started
        connections = _sessions(db) - sessions_before
        finished = db.session.scalar(
            select(func.count()).where(BackgroundJob.status == "finished"))
        assert finished == jobs, f"only {finished} of {jobs} rows are finished"
        return jobs / elapsed, connections


def run_floor(app, jobs: int) -> float:
    """One conditional UPDATE and COMMIT per job through the pool, nothing else: the most
    jobs/s any worker can reach that records `started` before running the job."""
    from webapp.extensions import db
    from webapp.models import BackgroundJob

    with app.app_context():
        ids = list(db.session.scalars(select(BackgroundJob.id).limit(jobs)))
        db.session.commit()
        update = text("UPDATE background_jobs SET heartbeat_at = now() "
                      "WHERE id = :id AND status IN ('finished', 'started')")
        started = time.perf_counter()
        for job_id in ids:
            db.session.execute(update, {"id": job_id})
            db.session.commit()
        return len(ids) / (time.perf_counter() - started)


def _sessions(db) -> int:
    """Connections ever opened to this database (PostgreSQL 14+)."""
    db.session.commit()
    return db.session.scalar(
        text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))


def measure(app, redis: Redis, jobs: int, rounds: int = 1) -> dict[str, float]:
    """The best of `rounds` rounds of every run (other load on the machine only slows a
    run down), each on an empty Redis database; sessions of the tracked runs' last round.
    Every other round runs each pair the other way round (Cutroom first, then its anchor):
    a machine that slows down or speeds up during the rounds favours neither side."""
    best: dict[str, float] = {}
    for number in range(rounds):
        figures = measure_once(app, redis, jobs, anchors_first=number % 2 == 0)
        print(f"round {number + 1}: " + ", ".join(
            f"{name} {value:.1f}" for name, value in figures.items()
            if not name.endswith("_sessions")), flush=True)
        for name, value in figures.items():
            best[name] = value if name.endswith("_sessions") else max(value,
                                                                      best.get(name, 0.0))
    return best


def measure_once(app, redis: Redis, jobs: int, anchors_first: bool = True) -> dict[str, float]:
    """Each run on an empty Redis database: jobs/s, and sessions for the tracked ones."""
    figures: dict[str, float] = {}
    pairs = [(("bare", lambda: run_bare(redis, jobs)),
              ("tracked", lambda: run_tracked(app, jobs))),
             (("simple", lambda: run_bare(redis, jobs, SimpleWorker)),
              ("light", lambda: run_tracked(app, jobs, light=True)))]
    runs = [run for pair in pairs for run in (pair if anchors_first else pair[::-1])]
    for name, run in [*runs, ("floor", lambda: run_floor(app, jobs))]:
        redis.flushdb()
        result = run()
        if isinstance(result, tuple):
            result, figures[f"{name}_sessions"] = result
        figures[name] = result
    return figures


def report(f: dict[str, float], jobs: int, summary: str | None) -> None:
    ratio, light_ratio = f["tracked"] / f["bare"], f["light"] / f["simple"]
    print(f"jobs per run:                              {jobs}")
    print(f"bare RQ (rq.Worker, forking):              {f['bare']:8.1f} jobs/s")
    print(f"Cutroom (CutroomWorker + PostgreSQL):      {f['tracked']:8.1f} jobs/s")
    print(f"tracked / bare:                            {ratio:8.2f}")
    print(f"PostgreSQL sessions opened (CutroomWorker): {f['tracked_sessions']:.0f}")
    print(f"bare RQ (rq.SimpleWorker, no fork):        {f['simple']:8.1f} jobs/s")
    print(f"Cutroom light (LightWorker + PostgreSQL):  {f['light']:8.1f} jobs/s")
    print(f"light / simple:                            {light_ratio:8.2f}")
    print(f"PostgreSQL sessions opened (LightWorker):  {f['light_sessions']:.0f}")
    print(f"one UPDATE + COMMIT per job, nothing else: {f['floor']:8.1f} per s "
          "(the ceiling of any worker recording `started` first)")
    write_summary(summary, [
        {"goal": "tracking", "measure": "forking worker, no-op jobs/s", "cutroom": f["tracked"],
         "anchor": f["bare"], "anchor_name": "bare rq.Worker", "ratio": ratio,
         "target": "ratio >= 0.90", "met": ratio >= 0.9},
        {"goal": "tracking", "measure": f"PostgreSQL connections, {jobs} jobs",
         "cutroom": f["tracked_sessions"], "target": "<= 1 per worker",
         "met": f["tracked_sessions"] <= 1},
        {"goal": "tracking", "measure": "light worker, no-op jobs/s", "cutroom": f["light"],
         "anchor": f["simple"], "anchor_name": "bare rq.SimpleWorker", "ratio": light_ratio,
         "target": ">= 300 jobs/s", "met": f["light"] >= 300}])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run everything this many times, report the best of each")
    parser.add_argument("--summary", help="write the figures for bench/suite.py here")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cutroom-bench-"))
    database_url, redis_url, stop = services(base, "cutroom_bench")
    try:
        os.environ.update({"DATABASE_URL": database_url, "REDIS_URL": redis_url,
                           "CUTROOM_ENV": "development", "TRIGGER_TEST_DELAY": "0"})
        from flask_migrate import upgrade

        from webapp import create_app

        app = create_app({"TESTING": False})
        with app.app_context():
            upgrade()
        redis = Redis.from_url(redis_url)
        report(measure(app, redis, args.jobs, args.rounds), args.jobs, args.summary)
    finally:
        for service in reversed(stop):
            service.stop()


if __name__ == "__main__":
    main()
