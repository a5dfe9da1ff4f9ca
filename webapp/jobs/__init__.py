"""The job system: task registry, enqueueing, worker, callbacks and the progress helper."""

from webapp.jobs.messages import TaskError
from webapp.jobs.progress import progress
from webapp.jobs.registry import RetryPolicy, task

__all__ = ["RetryPolicy", "TaskError", "progress", "task"]
