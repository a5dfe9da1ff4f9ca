"""`flask jobs ...`: run a worker, the reconciler, or the doctor; pause and resume a queue."""

from __future__ import annotations

import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup
from redis.exceptions import RedisError

from webapp.extensions import db
from webapp.jobs import doctor, pauses, pending_outcomes, reconcile, registry
from webapp.jobs.connection import get_redis, worker_redis
from webapp.jobs.worker import CutroomWorker, LightWorker

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

jobs_cli = AppGroup("jobs", help="Run and inspect background jobs.")


@jobs_cli.command("worker")
@click.option("-q", "--queue", "queues", multiple=True, help="Queue to listen on (repeatable).")
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True,
              help="Also run RQ's scheduler (delayed jobs and retry back-off).")
@click.option("--name", default=None, help="Worker name (default: random).")
@click.option("--light", is_flag=True,
              help="Run jobs without a work-horse (short jobs only: a running job cannot be "
                   "stopped).")
def worker_command(queues: tuple[str, ...], burst: bool, with_scheduler: bool,
                   name: str | None, light: bool) -> None:
    """Run a worker on the task queues (all of them by default)."""
    run_worker(queues, burst=burst, with_scheduler=with_scheduler, name=name, light=light)


def run_worker(queues: tuple[str, ...] = (), burst: bool = False, with_scheduler: bool = True,
               name: str | None = None, light: bool = False) -> None:
    """Run a CutroomWorker (or a LightWorker) in the current app context until it is told
    to stop."""
    config = current_app.config
    logging.basicConfig(level=config["LOG_LEVEL"], format=LOG_FORMAT)
    worker = make_worker(queues, name, light)
    click.echo(f"Worker {worker.name} listening on: {', '.join(worker.queue_names())}")
    worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=config["LOG_LEVEL"])


def make_worker(queues: tuple[str, ...] = (), name: str | None = None,
                light: bool = False) -> CutroomWorker | LightWorker:
    """A CutroomWorker (LightWorker) configured from the current app (all task queues by
    default)."""
    config = current_app.config
    timeout = config["WORKER_REDIS_TIMEOUT"]
    return (LightWorker if light else CutroomWorker)(
        list(queues) or registry.queue_names(),
        name=name,
        connection=worker_redis(config, timeout),
        # RQ's blocking dequeue waits worker_ttl - 15 s, its socket timeout 10 s more.
        worker_ttl=timeout + 5,
        job_monitoring_interval=config["WORKER_HEARTBEAT_INTERVAL"],
        default_result_ttl=config["JOB_RESULT_TTL"],
        shutdown_grace=config["WORKER_SHUTDOWN_GRACE"],
    )


@jobs_cli.command("reconcile")
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@click.option("--interval", type=float, default=None,
              help="Seconds between passes (default: RECONCILE_INTERVAL).")
def reconcile_command(once: bool, interval: float | None) -> None:
    """Repair jobs nothing else will finish; runs every RECONCILE_INTERVAL seconds."""
    run_reconciler(once=once, interval=interval)


def run_reconciler(once: bool = False, interval: float | None = None) -> None:
    """Run reconciliation passes in the current app context until SIGTERM/SIGINT."""
    config = current_app.config
    logging.basicConfig(level=config["LOG_LEVEL"], format=LOG_FORMAT)
    interval = interval or config["RECONCILE_INTERVAL"]
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Reconciler running every {interval:g} s")
    while True:
        try:
            repairs = reconcile.run_pass()
        except Exception:
            logging.getLogger(__name__).exception("Reconciliation pass failed")
            repairs = {}
        if repairs:
            click.echo("repaired: " + ", ".join(f"{k}={v}" for k, v in sorted(repairs.items())))
        if once or stop.wait(interval):
            return


@jobs_cli.command("doctor")
def doctor_command() -> None:
    """Report rows and RQ jobs that disagree (exit status 1 if any)."""
    findings = doctor.diagnose(get_redis())
    for f in findings:
        click.echo(f"{f.job_id}  row={f.row_status or '-':<9} rq={f.rq_status or '-':<9} "
                   f"{f.problem}")
    pending = pending_outcomes.pending()
    click.echo(f"{len(findings)} disagreement(s); {pending} queued outcome(s) waiting for "
               f"the reconciler; repairs so far: {reconcile.counters() or 'none'}")
    if findings:
        raise SystemExit(1)


@jobs_cli.command("pause")
@click.argument("queue")
def pause_command(queue: str) -> None:
    """Pause QUEUE: workers take no new job from it (running ones finish). Audited."""
    try:
        row, changed = pauses.pause(queue, None, get_redis())
    except pauses.UnknownQueue as exc:
        raise click.ClickException(str(exc)) from None
    except RedisError as exc:
        raise click.ClickException(f"Redis is unreachable ({exc}); nothing changed.") from None
    db.session.commit()
    since = row.paused_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    click.echo(f"Queue {queue} paused." if changed
               else f"Queue {queue} was already paused (since {since}, by {row.paused_by}).")


@jobs_cli.command("resume")
@click.argument("queue")
def resume_command(queue: str) -> None:
    """Resume QUEUE: workers take jobs from it again. Audited."""
    try:
        ended = pauses.resume(queue, None, get_redis())
    except pauses.UnknownQueue as exc:
        raise click.ClickException(str(exc)) from None
    except RedisError as exc:
        raise click.ClickException(f"Redis is unreachable ({exc}); nothing changed.") from None
    db.session.commit()
    click.echo(f"Queue {queue} resumed." if ended else f"Queue {queue} was not paused.")
