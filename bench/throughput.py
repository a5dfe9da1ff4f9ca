"""Jobs per second through one forking worker: bare RQ against full PostgreSQL tracking.

Both runs use one forking RQ worker in burst mode on the same Redis, measured in one run:

  bare     rq.Worker, jobs enqueued straight into RQ, no callbacks, no database
  tracked  CutroomWorker, jobs submitted through Cutroom (row first, then RQ), `started`
           written by the worker, one progress() write, success callback writing the result

Usage: python bench/throughput.py [--jobs N]. With DATABASE_URL / REDIS_URL unset it
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
from rq import Queue, Worker  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402


def run_bare(redis: Redis, jobs: int) -> float:
    queue = Queue("bench-bare", connection=redis)
    for i in range(jobs):
        queue.enqueue(echo, f"job {i}", result_ttl=600)
    worker = Worker([queue], connection=redis)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="WARNING")
    elapsed = time.perf_counter() - started
    assert queue.finished_job_registry.count == jobs, "not every bare job finished"
    return jobs / elapsed


def run_tracked(app, redis: Redis, jobs: int) -> tuple[float, int]:
    from webapp.auth.services import create_user
    from webapp.extensions import db
    from webapp.jobs import service
    from webapp.jobs.registry import get_task
    from webapp.jobs.worker import CutroomWorker
    from webapp.models import BackgroundJob

    with app.app_context():
        user = create_user("bench@example.com", "bench-password")
        unlimited(user)
        db.session.commit()
        task = get_task("trigger-test")
        for i in range(jobs):
            service.submit(task, {"message": f"job {i}"}, user)  # returns (job, replayed)
        sessions_before = _sessions(db)
        worker = CutroomWorker([task.queue], connection=redis,
                               default_result_ttl=app.config["JOB_RESULT_TTL"])
        started = time.perf_counter()
        worker.work(burst=True, logging_level="WARNING")
        elapsed = time.perf_counter() - started
        connections = _sessions(db) - sessions_before
        finished = db.session.scalar(
            select(func.count()).where(BackgroundJob.status == "finished"))
        assert finished == jobs, f"only {finished} of {jobs} rows are finished"
        return jobs / elapsed, connections


def _sessions(db) -> int:
    """Connections ever opened to this database (PostgreSQL 14+)."""
    db.session.commit()
    return db.session.scalar(
        text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2000)
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
        redis.flushdb()
        bare = run_bare(redis, args.jobs)
        redis.flushdb()
        tracked, connections = run_tracked(app, redis, args.jobs)
        print(f"jobs per run:                          {args.jobs}")
        print(f"bare RQ (rq.Worker, forking):          {bare:8.1f} jobs/s")
        print(f"Cutroom (CutroomWorker + PostgreSQL):  {tracked:8.1f} jobs/s")
        print(f"tracked / bare:                        {tracked / bare:8.2f}")
        print(f"PostgreSQL connections opened:         {connections} "
              f"({connections / args.jobs:.2f} per job: one per work-horse)")
        write_summary(args.summary, [
            {"goal": "tracking", "measure": "forking worker, no-op jobs/s", "cutroom": tracked,
             "anchor": bare, "anchor_name": "bare rq.Worker", "ratio": tracked / bare,
             "target": "ratio >= 0.90", "met": tracked / bare >= 0.9},
            {"goal": "tracking", "measure": f"PostgreSQL connections, {args.jobs} jobs",
             "cutroom": connections, "target": "<= 1 per worker", "met": connections <= 1}])
    finally:
        for service in reversed(stop):
            service.stop()


if __name__ == "__main__":
    main()
