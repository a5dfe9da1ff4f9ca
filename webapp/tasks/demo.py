"""Demonstration tasks: a quick echo, a watchable countdown and a failing task."""

from __future__ import annotations

import time

from flask import current_app
from pydantic import BaseModel, ConfigDict, Field

from webapp.jobs import RetryPolicy, progress, task
from webapp.jobs.context import current_job_row


class TriggerTestParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        "hello", title="Message", description="Echoed back as the result.", max_length=500
    )


@task("trigger-test", title="Trigger test", params=TriggerTestParams, timeout=60,
      idempotent=True)
def trigger_test(message: str) -> dict:
    """Echo a message back after a short pause.

    The pause is TRIGGER_TEST_DELAY seconds (1 by default); the first line above is what the
    dashboard shows, so it names no setting."""
    delay = current_app.config["TRIGGER_TEST_DELAY"]
    progress(0, f"Pausing {delay:g} s")
    time.sleep(delay)
    return {"message": message}


class CountdownParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: int = Field(
        10, title="Steps", description="Seconds to count down, one step a second.", ge=1, le=600
    )


@task("countdown", title="Countdown", params=CountdownParams, timeout=900, idempotent=True)
def countdown(steps: int) -> dict:
    """Count down one step a second, reporting progress at each step."""
    for done in range(steps):
        progress(done * 100 / steps, f"Step {done + 1} of {steps}")
        time.sleep(1)
    return {"steps": steps}


class FailTestParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(
        "Deliberate failure", title="Error message", description="Text of the raised error.",
        min_length=1, max_length=500,
    )
    succeed_on_attempt: int = Field(
        0, title="Succeed on attempt",
        description="Attempt number that succeeds instead (0: every attempt fails).",
        ge=0, le=100,
    )
    pause: float = Field(
        0, title="Pause", description="Seconds to wait before failing (or succeeding).",
        ge=0, le=600,
    )


@task(
    "fail-test",
    title="Fail test",
    params=FailTestParams,
    timeout=60,
    retry=RetryPolicy(max=2, intervals=(1, 2)),
    idempotent=True,
)
def fail_test(message: str, succeed_on_attempt: int, pause: float = 0) -> dict:
    """Raise an error, to show failures and automatic retries (three attempts in all)."""
    row = current_job_row()
    attempt = row.attempt if row else 1
    progress(50, f"Attempt {attempt}")
    time.sleep(pause)
    if succeed_on_attempt and attempt >= succeed_on_attempt:
        return {"succeeded_on_attempt": attempt}
    raise RuntimeError(message)
