"""A job's error as people read it: the recorded message without Python's class names.

The row's `error` keeps what was recorded (for an exception, `ClassName: message`, as
`callbacks.describe_exception` and RQ write it); the API and admins see that. The pages show
its owner the message alone when a task raised TaskError (a failure the task explains), the
message of a timeout, our own sentences (killed, abandoned, lost...) as they are, and for any
other exception "Something went wrong in <task>: <message>".
"""

from __future__ import annotations

import re

from webapp.jobs.registry import get_task
from webapp.models import BackgroundJob


class TaskError(Exception):
    """Raise it (or a subclass) from a task to fail with a message written for the user."""


# "ClassName: message", or a bare class name (possibly dotted, as in RQ's exc_string).
_EXCEPTION = re.compile(r"(?P<name>[A-Za-z_][\w.]*)(?:: (?P<detail>.*))?", re.DOTALL)
# Error codes whose message was written from an exception; the others are our sentences.
_FROM_EXCEPTION = frozenset({"exception", "timeout"})


def _explained() -> set[str]:
    """Names of TaskError and its subclasses (tasks define theirs at import)."""
    names, todo = set(), [TaskError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _split(job: BackgroundJob) -> tuple[str | None, str]:
    """(the exception's class name, or None when the message is not one; the message)."""
    error = job.error or ""
    match = _EXCEPTION.fullmatch(error) if job.error_code in _FROM_EXCEPTION else None
    if match is None:
        return None, error
    return match["name"].rsplit(".", 1)[-1], (match["detail"] or "").strip()


def error_detail(job: BackgroundJob) -> str | None:
    """The error's own message, without a class name in front (None without an error)."""
    if not job.error:
        return None
    name, detail = _split(job)
    return detail or ("It gave no details." if name else job.error)


def user_error(job: BackgroundJob) -> str | None:
    """The error as the job's owner reads it (None without an error)."""
    if not job.error:
        return None
    name, detail = _split(job)
    if name is None or job.error_code == "timeout" or name in _explained():
        return detail or error_detail(job)
    task = get_task(job.task)
    where = task.title if task else job.task
    return f"Something went wrong in {where}: {detail}" if detail else (
        f"Something went wrong in {where}.")
