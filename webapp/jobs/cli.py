"""`flask jobs ...`: run a worker."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup
from redis import Redis

from webapp.jobs import registry
from webapp.jobs.worker import CutroomWorker

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

jobs_cli = AppGroup("jobs", help="Run and inspect background jobs.")


@jobs_cli.command("worker")
@click.option("-q", "--queue", "queues", multiple=True, help="Queue to listen on (repeatable).")
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--with-scheduler/--without-scheduler", default=True, show_default=True,
              help="Also run RQ's scheduler (delayed jobs and retry back-off).")
@click.option("--name", default=None, help="Worker name (default: random).")
def worker_command(queues: tuple[str, ...], burst: bool, with_scheduler: bool,
                   name: str | None) -> None:
    """Run a worker on the task queues (all of them by default)."""
    config = current_app.config
    logging.basicConfig(level=config["LOG_LEVEL"], format=LOG_FORMAT)
    names = list(queues) or registry.queue_names()
    worker = CutroomWorker(
        names,
        name=name,
        connection=Redis.from_url(config["REDIS_URL"]),
        job_monitoring_interval=config["WORKER_HEARTBEAT_INTERVAL"],
        default_result_ttl=config["JOB_RESULT_TTL"],
        shutdown_grace=config["WORKER_SHUTDOWN_GRACE"],
    )
    click.echo(f"Worker {worker.name} listening on: {', '.join(names)}")
    worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=config["LOG_LEVEL"])
