"""Template helpers: task titles, status labels, times and durations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from jinja2 import StrictUndefined

from webapp.jobs.registry import get_task
from webapp.models import (
    CANCELED,
    CREATED,
    DEFERRED,
    ENDED_BADLY,
    FAILED,
    FINISHED,
    QUEUED,
    SCHEDULED,
    STARTED,
    STOPPED,
    BackgroundJob,
)

STATUS_LABELS = {
    CREATED: "Created",
    QUEUED: "Queued",
    DEFERRED: "Waiting",
    SCHEDULED: "Retry scheduled",
    STARTED: "Running",
    FINISHED: "Finished",
    FAILED: "Failed",
    STOPPED: "Stopped",
    CANCELED: "Canceled",
}


def task_title(name: str) -> str:
    task = get_task(name)
    return task.title if task else name


def max_attempts(name: str) -> int | None:
    task = get_task(name)
    return task.max_attempts if task else None


def result_line(job: BackgroundJob) -> str | None:
    """A task's own one-line description of a finished job's result, if it has one."""
    task = get_task(job.task)
    if task is None or task.describe is None or job.result is None:
        return None
    try:
        return task.describe(job.result)
    except (KeyError, TypeError, ValueError):
        return None


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def ended_badly(status: str) -> bool:
    """`status is ended_badly` in templates, for what has a status but is not a job (a
    render's summary); a job answers `job.ended_badly` itself."""
    return status in ENDED_BADLY


def clock(value: datetime | None) -> str:
    """A UTC time of day, with the date when it is not today."""
    if value is None:
        return "—"
    value = value.astimezone(UTC)
    if value.date() == datetime.now(UTC).date():
        return value.strftime("%H:%M:%S")
    return value.strftime("%Y-%m-%d %H:%M")


def human_duration(delta: timedelta | None) -> str:
    """1.2 s, 42 s, 3 min 05 s, 2 h 04 min."""
    if delta is None:
        return "—"
    seconds = max(delta.total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def elapsed(job: BackgroundJob) -> timedelta | None:
    """How long the job has run (so far, while running)."""
    if job.started_at is None:
        return None
    return (job.ended_at or datetime.now(UTC)) - job.started_at


def waited(job: BackgroundJob) -> timedelta | None:
    """How long the job waited in the queue (so far, while waiting)."""
    if job.is_waiting:
        return datetime.now(UTC) - (job.enqueued_at or job.created_at)
    if job.started_at is not None and job.enqueued_at is not None:
        return job.started_at - job.enqueued_at
    return None


def init_app(app: Flask) -> None:
    """Register helpers; templates under test fail loudly on undefined names."""
    if app.testing:
        app.jinja_env.undefined = StrictUndefined
    app.jinja_env.globals.update(
        task_title=task_title, status_label=status_label, max_attempts=max_attempts,
        elapsed=elapsed, waited=waited, result_line=result_line,
    )
    app.jinja_env.filters.update(clock=clock, duration=human_duration)
    app.jinja_env.tests.update(ended_badly=ended_badly)
