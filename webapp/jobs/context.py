"""What a running task may ask about its own job."""

from __future__ import annotations

import uuid

from rq import get_current_job

from webapp.extensions import db
from webapp.jobs import handoff
from webapp.models import BackgroundJob


def current_job_row() -> BackgroundJob | None:
    """The PostgreSQL row of the job this work-horse is running, or None outside a worker."""
    job = get_current_job()
    if job is None:
        return None
    handoff.settle_start()  # the worker may not have recorded `started` yet
    return db.session.get(BackgroundJob, uuid.UUID(job.id))


def current_job_id() -> str | None:
    """The id of the job this work-horse is running, or None outside a worker."""
    job = get_current_job()
    return job.id if job else None
