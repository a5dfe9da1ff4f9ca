"""The job page's data, `/rq/<n>/data/job/<id>.json`, in place of rq-dashboard's own view.

rq-dashboard 0.9's view answers 500 for every job that depends on another under rq 3 (it
decodes dependency ids that rq 3 already gives as text): deferred jobs, and every stage of
a render after the first. This one gives its job page the same fields in the same formats
(through its own date and description helpers), and a result or meta that is not JSON as a
description instead of an error.
"""

from __future__ import annotations

import json

from flask import current_app, jsonify
from rq.job import Job
from rq_dashboard.web import format_job_description, serialize_date

from webapp.jobs.callbacks import jsonable

ENDPOINT = "rq_dashboard.job_info"


def job_info(instance_number: int, job_id: str):
    """One job as rq-dashboard's job page reads it."""
    redis = current_app.redis_conn  # the instance rq-dashboard connected this request to
    job = Job.fetch(job_id, connection=redis)
    latest = job.latest_result()
    data = {
        "id": job.id,
        "created_at": serialize_date(job.created_at),
        "enqueued_at": serialize_date(job.enqueued_at),
        "started_at": serialize_date(job.started_at),
        "ended_at": serialize_date(job.ended_at),
        "origin": job.origin,
        "status": job.get_status(),
        "result": jsonable(job.return_value()),
        "exc_info": latest.exc_string if latest else None,
        "description": format_job_description(job),
        "metadata": json.dumps(jsonable(job.get_meta())),
    }
    if dependencies := sorted(job.dependency_ids):
        data["depends_on"] = dependencies
        data["depends_on_status"] = [
            "active" if Job.exists(dep, connection=redis) else "expired" for dep in dependencies]
    return jsonify(data), {"Cache-Control": "no-store"}
