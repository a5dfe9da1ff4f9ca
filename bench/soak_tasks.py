"""The soak test's task, registered only in the soak's own processes."""

from __future__ import annotations

import os
import signal
import time

from pydantic import BaseModel, ConfigDict, Field
from rq import get_current_job

from webapp.jobs import RetryPolicy, task
from webapp.jobs.context import current_job_row

COMPLETIONS = "soak:completions"


class SoakParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(ge=0)
    fail: bool = False
    die: bool = False
    hold: float = Field(0.01, ge=0, le=5)


@task("soak", title="Soak", params=SoakParams, queue="soak", timeout=60, idempotent=True,
      retry=RetryPolicy(max=1, intervals=(0,)), launchable=False)
def soak(n: int, fail: bool, die: bool, hold: float) -> dict:
    """Hold briefly; raise if told to; SIGKILL its own work-horse on the first attempt if told."""
    time.sleep(hold)
    if fail:
        raise RuntimeError(f"soak job {n} fails on purpose")
    row = current_job_row()
    if die and row is not None and row.attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    job = get_current_job()
    job.connection.hincrby(COMPLETIONS, job.id, 1)  # counts real completions of the body
    return {"n": n}
