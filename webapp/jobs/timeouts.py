"""A job's timeout that no `except Exception` can swallow.

RQ raises its JobTimeoutException (an Exception) from a one-shot SIGALRM handler. Wherever
the alarm lands inside a `try: ... except Exception:` (a progress write that must never fail
the task, a library's own error handling), the timeout is lost and the job runs on past its
limit, to the end. JobTimedOut derives from BaseException, as KeyboardInterrupt does, so it
passes every such handler and ends the job as RQ meant to.
"""

# RQ internals relied on (checked against rq 3.0.0, hence rq>=3.0,<3.1 in pyproject.toml):
# UnixSignalDeathPenalty's private _exception and _timeout, and its handle_death_penalty and
# cancel_death_penalty; the worker uses it as death_penalty_class for jobs and callbacks.

from __future__ import annotations

import contextlib

from rq.timeouts import BaseTimeoutException, JobTimeoutException, UnixSignalDeathPenalty


class JobTimedOut(BaseException):
    """A job ran past its timeout (raised in the work-horse by the alarm)."""


TIMEOUTS = (JobTimedOut, JobTimeoutException)


class DeathPenalty(UnixSignalDeathPenalty):
    """RQ's alarm-based timeout, raising JobTimedOut (for jobs and their callbacks)."""

    def __init__(self, timeout, exception=JobTimeoutException, **kwargs) -> None:
        if exception is JobTimeoutException:
            exception = JobTimedOut
        super().__init__(timeout, exception, **kwargs)

    def handle_death_penalty(self, signum, frame) -> None:
        raise self._exception(f"Ran past its time limit of {self._timeout} seconds.")

    def __exit__(self, type, value, traceback) -> bool:
        # As RQ does for its own exception: an alarm that fires while the finished body is
        # being left changes nothing.
        with contextlib.suppress(JobTimedOut, BaseTimeoutException):
            self.cancel_death_penalty()
        return False
