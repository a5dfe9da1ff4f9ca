"""RQ job callbacks: record each outcome in PostgreSQL (webapp.jobs.outcomes).

They are referenced by dotted path, are idempotent (every write is a conditional
transition) and never raise: a callback that raises turns a success into a failure and
re-runs the job under Retry. StartedJobRegistry's clean-up also calls on_failure, with
AbandonedJobError, for jobs whose worker vanished.
"""

from __future__ import annotations

import json
import logging
import traceback as tb_module
from collections.abc import Callable
from types import TracebackType
from typing import Any

from rq.exceptions import AbandonedJobError
from rq.job import Job, JobStatus

from webapp.jobs import outcomes
from webapp.jobs.timeouts import TIMEOUTS

log = logging.getLogger(__name__)


def jsonable(value: Any) -> Any:
    """The value if it is JSON, else a description of it, so a result is never lost."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return {"repr": safe_str(repr, value)[:2000]}


def safe_str(fmt: Callable[[Any], str], value: Any) -> str:
    """fmt(value), or a placeholder when formatting itself raises."""
    try:
        return fmt(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def describe_exception(
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> tuple[str, str, str | None]:
    """(message, error_code, traceback text) for a failed attempt."""
    name = getattr(exc_type, "__name__", "Error")
    detail = safe_str(str, exc_value) if exc_value is not None else ""
    message = f"{name}: {detail}" if detail else name
    code = "exception"
    if exc_type is not None and issubclass(exc_type, TIMEOUTS):
        code = "timeout"
    elif exc_type is not None and issubclass(exc_type, AbandonedJobError):
        code, message = "abandoned", "The worker running it disappeared (abandoned)."
    try:
        text = "".join(tb_module.format_exception(exc_type, exc_value, traceback))
    except Exception:
        text = None
    return message, code, text


def retry_status(job: Job) -> str | None:
    """The status RQ gives the job next if it will retry it, else None."""
    if not job.retries_left:
        return None
    interval = job.get_retry_interval()
    return JobStatus.SCHEDULED.value if interval else JobStatus.QUEUED.value


def on_success(job: Job, connection: Any, result: Any, *args: Any, **kwargs: Any) -> None:
    """The task returned: the row becomes finished with its result."""
    outcomes.record(outcomes.finished, job.id, jsonable(result))


def on_failure(
    job: Job,
    connection: Any,
    exc_type: type[BaseException] | None = None,
    exc_value: BaseException | None = None,
    traceback: TracebackType | None = None,
    *args: Any,
    **kwargs: Any,
) -> None:
    """The task raised: failed, or back to queued/scheduled when RQ will retry it."""
    message, code, text = describe_exception(exc_type, exc_value, traceback)
    try:
        next_status = retry_status(job)
    except Exception:
        log.exception("Could not read the retry policy of job %s", job.id)
        next_status = None
    if next_status:
        outcomes.record(outcomes.retrying, job.id, next_status, message, code, text)
    else:
        outcomes.record(outcomes.failed, job.id, message, code, text)


def on_stopped(job: Job, connection: Any, *args: Any, **kwargs: Any) -> None:
    """A running job was stopped on request."""
    outcomes.record(outcomes.stopped, job.id)
