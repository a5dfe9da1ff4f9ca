"""Idempotency-Key: the same key from the same user within IDEMPOTENCY_TTL_HOURS returns
the job the first request made, instead of starting another."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import BackgroundJob, User
from webapp.validation import ParamsError

HEADER = "Idempotency-Key"
_VALID = re.compile(r"^[\x21-\x7e]{1,200}$")


class KeyReused(ParamsError):
    """The key was used before for a different request (HTTP 422)."""


def check(key: str | None) -> str | None:
    """The key, or None when absent; ParamsError when it is malformed."""
    if key is None:
        return None
    if not _VALID.match(key):
        raise ParamsError([{"field": HEADER, "message":
                            "Use 1 to 200 visible ASCII characters (a UUID is a good key)."}])
    return key


def find(user: User, key: str) -> BackgroundJob | None:
    """The job this user started with this key, if the key has not expired."""
    job = db.session.scalar(select(BackgroundJob).where(
        BackgroundJob.user_id == user.id, BackgroundJob.idempotency_key == key))
    if job is None:
        return None
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_TTL_HOURS"])
    if job.created_at < datetime.now(UTC) - ttl:
        # Expired: forget it, so the key can start a new job.
        db.session.execute(update(BackgroundJob).where(BackgroundJob.id == job.id)
                           .values(idempotency_key=None))
        db.session.commit()
        return None
    return job


def ensure_same(job: BackgroundJob, task_name: str, params: dict) -> BackgroundJob:
    """The earlier job, if it was started by the same request; KeyReused otherwise."""
    if job.task != task_name or job.params != params:
        raise KeyReused([{"field": HEADER, "message":
                          "This key was already used for a different request."}])
    return job
