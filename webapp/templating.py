"""Template helpers: task titles, status labels, times and durations, results and errors."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, url_for
from jinja2 import StrictUndefined
from markupsafe import Markup

from webapp.jobs.messages import error_detail, user_error
from webapp.jobs.pauses import is_paused
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
from webapp.render.outputs import files_of

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


def relative_age(value: datetime, now: datetime | None = None) -> str:
    """just now, 42 s ago, 3 min ago, 5 h ago, 2 days ago (or "in ..." for the future)."""
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    span = abs(seconds)
    if span < 5:
        return "just now"
    if span < 60:
        text = f"{span:.0f} s"
    elif span < 3600:
        text = f"{span // 60:.0f} min"
    elif span < 86400:
        text = f"{span // 3600:.0f} h"
    else:
        days = int(span // 86400)
        text = f"{days} day{'s' if days != 1 else ''}"
    return f"in {text}" if seconds < 0 else f"{text} ago"


def human_date(value: datetime, now: datetime | None = None) -> str:
    """today 14:03:22, yesterday 23:10:05, 3 Dec 09:15, 3 Dec 2025 09:15 (UTC)."""
    value = value.astimezone(UTC)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    if value.date() == today:
        return value.strftime("today %H:%M:%S")
    if value.date() == today - timedelta(days=1):
        return value.strftime("yesterday %H:%M:%S")
    if value.year == today.year:
        return f"{value.day} {value:%b %H:%M}"
    return f"{value.day} {value:%b %Y %H:%M}"


def when(value: datetime | None) -> Markup:
    """A <time> with the human date and the relative age, the full UTC timestamp on hover;
    the age is as of this render (live cards re-render every poll)."""
    if value is None:
        return Markup("—")
    value = value.astimezone(UTC)
    now = datetime.now(UTC)
    # Every part is made here from the datetime (digits, month names, fixed words), none
    # from a user, so plain formatting is safe, and a listing of 100 of them is 6 ms faster
    # than Markup.format's escaping of each part.
    return Markup(f'<time datetime="{value.isoformat()}" title="{value:%Y-%m-%d %H:%M:%S} UTC">'
                  f"{human_date(value, now)} ({relative_age(value, now)})</time>")


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


@dataclass
class ResultField:
    """One top-level entry of a result, for people: a label, and text or links."""

    label: str
    text: str = ""
    code: bool = False  # a nested value, shown as compact JSON
    links: list[tuple[str, str]] = field(default_factory=list)


# Keys whose numbers have a unit, by what the render stages return.
_UNITS = {"duration": lambda v: f"{v:.1f} s", "size": lambda v: f"{v / 1048576:.1f} MiB"}


def _label(key: str) -> str:
    words = key.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:] if words else key


def _value_text(key: str, value: Any) -> tuple[str, bool]:
    """(text, is it code) for one result value."""
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, int | float):
        unit = _UNITS.get(key)
        if unit:
            return unit(value), False
        return (f"{value:g}" if isinstance(value, float) else str(value)), False
    if value is None:
        return "—", False
    if isinstance(value, str):
        return value, False
    return json.dumps(value, ensure_ascii=False), True


def result_fields(job: BackgroundJob) -> list[ResultField]:
    """A finished job's result as labelled fields; its files (a render's) as links."""
    result = job.result
    if result is None:
        return []
    if not isinstance(result, dict):
        text, code = _value_text("", result)
        return [ResultField("Result", text, code)]
    files = files_of(job)
    fields = []
    for key, value in result.items():
        if key == "files" and files:
            continue
        text, code = _value_text(str(key), value)
        fields.append(ResultField(_label(str(key)), text, code))
    if files:  # last: JSONB keeps keys in its own order (shortest first), not the task's
        fields.append(ResultField("Files", links=[
            (name, url_for("dashboard.job_file", job_id=job.id, name=name)) for name in files]))
    return fields


# Stand-in ids for row_url: distinctive, so that they occur in a built URL only once.
_STAND_INS: dict[str, Any] = {"uuid": uuid.UUID("00000000-0000-4000-8000-0000000c0de0"),
                              "int": 9_876_543_210}


def row_url(endpoint: str, name: str, kind: str = "uuid"):
    """For a listing's rows: url_for(endpoint, name=value), built once with a stand-in id
    and then each row's id put in its place (a twentieth of url_for's time a row). Only for
    ids (UUIDs, integers), which a URL takes as they are."""
    stand_in = _STAND_INS[kind]
    kind_type = type(stand_in)
    prefix, found, suffix = url_for(endpoint, **{name: stand_in}).partition(str(stand_in))
    if not found:
        raise ValueError(f"{endpoint} does not put {name} in its URL")

    def build(value: Any) -> str:
        if not isinstance(value, kind_type) or isinstance(value, bool):
            raise TypeError(f"row_url({endpoint!r}) takes a {kind}, not {value!r}")
        return f"{prefix}{value}{suffix}"
    return build


def init_app(app: Flask) -> None:
    """Register helpers; templates under test fail loudly on undefined names."""
    if app.testing:
        app.jinja_env.undefined = StrictUndefined
    app.jinja_env.globals.update(
        task_title=task_title, status_label=status_label, max_attempts=max_attempts,
        elapsed=elapsed, waited=waited, result_line=result_line, result_fields=result_fields,
        user_error=user_error, error_detail=error_detail, queue_paused=is_paused,
        row_url=row_url,
    )
    # `clock` is the older name some pages still use.
    app.jinja_env.filters.update(when=when, clock=when, duration=human_duration)
    app.jinja_env.tests.update(ended_badly=ended_badly)
