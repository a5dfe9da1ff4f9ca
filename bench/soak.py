"""Soak: many short jobs through two workers while things go wrong; nothing may be lost.

10,000 jobs by default: 5% raise (and fail after their retry), 1% SIGKILL their own
work-horse on the first attempt (and finish on the retry), one worker is restarted (SIGTERM,
graceful) every 30 s, and a reconciler process runs throughout. At the end it prints jobs
submitted, finished, failed by error code, lost (must be 0), run twice (completions of the
task body > 1 among finished jobs; must be 0), rows not final (must be 0), rows whose status
disagrees with RQ (must be 0), and the wall time.

Usage: python bench/soak.py [--jobs N] [--workers 2] [--restart-every 30]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import soak_tasks  # noqa: E402  (bench/ is on sys.path as the script's folder)
from common import services, unlimited  # noqa: E402

HERE = Path(__file__).resolve().parent
SETTINGS = {  # short thresholds so repairs happen within the run
    "WORKER_HEARTBEAT_INTERVAL": "2", "WORKER_SHUTDOWN_GRACE": "5",
    "RECONCILE_INTERVAL": "5", "HEARTBEAT_GRACE": "10", "RECOVER_AFTER": "20",
    "CANCEL_CONFIRM_TIMEOUT": "10", "LOG_LEVEL": "WARNING",
}


class Fleet:
    """The worker and reconciler processes, with rolling restarts of the workers."""

    def __init__(self, env: dict[str, str], workers: int, log_dir: Path):
        self.env, self.log_dir, self.generation = env, log_dir, 0
        self.workers = [self._start("worker") for _ in range(workers)]
        self.reconciler = self._start("reconcile")
        self.restarts = 0

    def _start(self, role: str) -> subprocess.Popen:
        self.generation += 1
        name = f"soak-{role}-{self.generation}"
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 (lives with the process)
        args = [sys.executable, str(HERE / "soak_proc.py"), role]
        if role == "worker":
            args.append(name)
        return subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def restart_one(self) -> None:
        index = self.restarts % len(self.workers)
        old = self.workers[index]
        old.send_signal(signal.SIGTERM)
        old.wait(timeout=60)
        self.workers[index] = self._start("worker")
        self.restarts += 1

    def stop(self) -> None:
        for proc in [*self.workers, self.reconciler]:
            proc.send_signal(signal.SIGTERM)
        for proc in [*self.workers, self.reconciler]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def submit_all(app, jobs: int) -> None:
    from webapp.auth.services import create_user
    from webapp.extensions import db
    from webapp.jobs import service
    from webapp.jobs.registry import get_task

    with app.app_context():
        user = create_user("soak@example.com", "soak-password")
        unlimited(user)
        db.session.commit()
        task = get_task("soak")
        for n in range(jobs):
            params = {"n": n, "fail": n % 20 == 0, "die": n % 100 == 1}
            service.submit(task, params, user)


def not_final(app) -> int:
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import ACTIVE_STATUSES, BackgroundJob

    with app.app_context():
        return db.session.scalar(select(func.count()).where(
            BackgroundJob.status.in_(sorted(ACTIVE_STATUSES))))


def report(app, redis, wall: float, restarts: int) -> None:
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.jobs import doctor, reconcile
    from webapp.models import FINAL_STATUSES, BackgroundJob

    with app.app_context():
        reconcile.run_pass()  # apply anything still queued
        rows = db.session.execute(select(BackgroundJob.id, BackgroundJob.status,
                                         BackgroundJob.error_code, BackgroundJob.attempt,
                                         BackgroundJob.params)).all()
        completions = {k.decode(): int(v) for k, v in
                       redis.hgetall(soak_tasks.COMPLETIONS).items()}
        statuses = Counter(r.status for r in rows)
        failed = Counter(r.error_code for r in rows if r.status == "failed")
        twice = sum(1 for r in rows if r.status == "finished" and completions.get(str(r.id), 0) > 1)
        never = sum(1 for r in rows if r.status == "finished" and str(r.id) not in completions)
        killed = [r for r in rows if r.params.get("die")]
        killed_ok = sum(1 for r in killed if r.status == "finished" and r.attempt == 2)
        disagree = doctor.check_rows(redis)
        repairs = reconcile.counters()
    print(f"jobs submitted:                {len(rows)}")
    print(f"finished:                      {statuses['finished']}")
    print(f"failed, by error code:         {dict(failed)}")
    print(f"lost (must be 0):              {failed.get('lost', 0)}")
    print(f"run twice (must be 0):         {twice}")
    print(f"finished without running:      {never}")
    print(f"horses SIGKILLed, then retried and finished: {killed_ok} of {len(killed)}")
    unfinished = sum(1 for r in rows if r.status not in FINAL_STATUSES)
    print(f"rows not final (must be 0):    {unfinished}")
    print(f"rows disagreeing with RQ (0):  {len(disagree)}")
    for finding in disagree[:10]:
        print(f"    {finding}")
    print(f"worker restarts:               {restarts}")
    print(f"reconciler repairs:            {repairs or 'none'}")
    print(f"wall time:                     {wall:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--restart-every", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=3600.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cutroom-soak-"))
    database_url, redis_url, stop = services(base, "cutroom_soak")
    env = {**os.environ, **SETTINGS, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "CUTROOM_ENV": "development", "MEDIA_ROOT": str(base / "media")}
    os.environ.update(env)
    fleet = None
    try:
        from flask_migrate import upgrade
        from redis import Redis

        from webapp import create_app

        app = create_app()
        with app.app_context():
            upgrade()
        redis = Redis.from_url(redis_url)
        started = time.monotonic()
        fleet = Fleet(env, args.workers, base)
        submitter = threading.Thread(target=submit_all, args=(app, args.jobs), daemon=True)
        submitter.start()
        next_restart = started + args.restart_every
        while submitter.is_alive() or not_final(app):
            if time.monotonic() - started > args.timeout:
                print("timed out waiting for the jobs to end")
                break
            if time.monotonic() >= next_restart:
                fleet.restart_one()
                next_restart += args.restart_every
            time.sleep(1)
        wall = time.monotonic() - started
        fleet.stop()
        report(app, redis, wall, fleet.restarts)
        print(f"logs:                          {base}")
    finally:
        if fleet is not None:
            fleet.stop()
        for service in reversed(stop):
            service.stop()


if __name__ == "__main__":
    main()
