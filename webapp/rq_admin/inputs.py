"""rq-dashboard's URL arguments, checked before its views run.

Its views trust them and raise on anything unexpected (500s), and its pages write some of
them into their inline script. Unknown things (a Redis instance, queue, registry, sort
order or job) answer 404, malformed numbers 400, each with a message.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import current_app, url_for
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from webapp.extensions import db
from webapp.jobs.connection import get_redis
from webapp.jobs.registry import queue_names
from webapp.models import BackgroundJob
from webapp.pagination import MAX_PAGE

REGISTRIES = ("queued", "scheduled", "deferred", "started", "finished", "failed", "canceled")
ORDERS = ("asc", "dsc")
MAX_PER_PAGE = 200  # the maximum of its own "On page" input
NUMBER = re.compile(r"[0-9]{1,9}")
# RQ's own rule for job ids, with a length bound.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
# Views that show a job need Redis to have it; actions also accept a job only Cutroom has.
SHOWS_RQ_JOB = frozenset({"rq_dashboard.job_view", "rq_dashboard.job_info"})


class BadArgument(Exception):
    """A URL argument names nothing, or is not a number in range."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def check(endpoint: str, args: dict[str, Any]) -> None:
    """Raise BadArgument for the first argument that is unknown or malformed."""
    if (number := args.get("instance_number")) is not None:
        _instance(number)
    if args.get("registry_name") is not None and args["registry_name"] not in REGISTRIES:
        raise BadArgument(404, f"There is no registry {args['registry_name']!r}; the "
                               f"registries are {', '.join(REGISTRIES)}.")
    if args.get("order") is not None and args["order"] not in ORDERS:
        raise BadArgument(404, "The sort order is asc or dsc.")
    for name, top in (("per_page", MAX_PER_PAGE), ("page", MAX_PAGE)):
        if args.get(name) is not None:
            _number(name, args[name], top)
    if args.get("queue_name") is not None:
        _queue(args["queue_name"])
    if args.get("job_id") is not None:
        _job(args["job_id"], in_rq=endpoint in SHOWS_RQ_JOB)


def _instance(number: int) -> None:
    count = len(current_app.config["RQ_DASHBOARD_REDIS_URL"])
    if number >= count:
        raise BadArgument(404, f"There is no Redis instance {number}; this dashboard has "
                               f"{count} (numbered from 0).")


def _number(name: str, value: int | str, top: int) -> None:
    text = str(value)
    if not NUMBER.fullmatch(text) or not 1 <= int(text) <= top:
        raise BadArgument(400, f"{name} must be a whole number from 1 to {top:,}.")


def _queue(name: str) -> None:
    known = name in queue_names() or get_redis().sismember(
        Queue.redis_queues_keys, Queue.redis_queue_namespace_prefix + name)
    if not known:
        raise BadArgument(404, f"There is no queue {name!r}.")


def _job(job_id: str, in_rq: bool) -> None:
    if JOB_ID.fullmatch(job_id) and Job.exists(job_id, connection=get_redis()):
        return
    has_row = _has_row(job_id)
    if has_row and not in_rq:
        return
    if has_row:
        raise BadArgument(404, f"Redis no longer has job {job_id}; Cutroom's record of it is "
                               f"at {url_for('dashboard.job_page', job_id=job_id)}.")
    raise BadArgument(404, f"There is no job {job_id!r}.")


def _has_row(job_id: str) -> bool:
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        return False
    return db.session.scalar(select(BackgroundJob.id).where(BackgroundJob.id == key)) is not None
