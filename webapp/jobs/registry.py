"""The task registry: every task is a module-level function registered with its metadata.

A task's parameter model (pydantic) drives validation, the dashboard's launch form and
the API's task listing, so the three can never disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ValidationError
from rq import Retry

from webapp.validation import ParamsError, describe_errors, unstorable_text

__all__ = ["RetryPolicy", "Task", "all_tasks", "get_task", "launchable_tasks", "queue_names",
           "task"]

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
_TASKS: dict[str, Task] = {}


@dataclass(frozen=True)
class RetryPolicy:
    """How often RQ retries a failed attempt, and how long it waits before each retry."""

    max: int
    intervals: tuple[int, ...] = (0,)

    def to_rq(self) -> Retry:
        return Retry(max=self.max, interval=list(self.intervals))


@dataclass(frozen=True)
class Task:
    """A registered task: what runs, what it accepts, and how it is queued."""

    name: str
    title: str
    func: Callable[..., Any]
    params: type[BaseModel]
    description: str = ""
    queue: str = "default"
    timeout: int = 300
    retry: RetryPolicy | None = None
    # False for tasks that only run as part of something else (the stages of a render).
    launchable: bool = True
    # True when running it twice does no harm: the reconciler may then re-enqueue a job that
    # Redis lost; otherwise such a job fails with error_code "lost".
    idempotent: bool = False
    # Turns a result into one line for job cards; None shows the result as JSON.
    describe: Callable[[Any], str] | None = field(default=None, hash=False, compare=False)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def max_attempts(self) -> int:
        return 1 + (self.retry.max if self.retry else 0)

    def validate(self, data: Any) -> dict[str, Any]:
        """Validate raw parameters; return them normalised to JSON types."""
        if not isinstance(data, Mapping):
            raise ParamsError([{"field": "(body)", "message": "Parameters must be a JSON object."}])
        try:
            model = self.params.model_validate(dict(data))
        except ValidationError as exc:
            raise ParamsError(describe_errors(exc)) from None
        params = model.model_dump(mode="json")
        if problems := unstorable_text(params):
            raise ParamsError(problems)
        return params

    @cached_property
    def json_schema(self) -> dict[str, Any]:
        """JSON Schema of the parameters (built once)."""
        return self.params.model_json_schema()


def task(
    name: str,
    *,
    title: str,
    params: type[BaseModel],
    queue: str = "default",
    timeout: int = 300,
    retry: RetryPolicy | None = None,
    description: str | None = None,
    launchable: bool = True,
    idempotent: bool = False,
    describe: Callable[[Any], str] | None = None,
    **extra: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a module-level function as a task; returns the function unchanged."""
    if not _NAME.match(name):
        raise ValueError(f"Task name {name!r} must be lowercase letters, digits and dashes")

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        if "<locals>" in func.__qualname__:
            raise ValueError(f"Task {name!r} must be a module-level function")
        existing = _TASKS.get(name)
        if existing is not None and existing.func is not func:
            raise ValueError(f"Task {name!r} is already registered by {existing.func!r}")
        doc = (func.__doc__ or "").strip().splitlines()
        _TASKS[name] = Task(
            name=name,
            title=title,
            func=func,
            params=params,
            description=description or (doc[0] if doc else ""),
            queue=queue,
            timeout=timeout,
            retry=retry,
            launchable=launchable,
            idempotent=idempotent,
            describe=describe,
            extra=extra,
        )
        return func

    return register


def get_task(name: str) -> Task | None:
    """The registered task called `name`, or None."""
    return _TASKS.get(name)


def all_tasks() -> list[Task]:
    """Every registered task, in registration order (filters of the jobs explorer)."""
    return list(_TASKS.values())


def launchable_tasks() -> list[Task]:
    """The tasks people start directly (launch forms, POST /api/v1/tasks/<name>)."""
    return [t for t in _TASKS.values() if t.launchable]


def queue_names() -> list[str]:
    """The queues that registered tasks use, in first-use order."""
    return list(dict.fromkeys(t.queue for t in _TASKS.values()))
