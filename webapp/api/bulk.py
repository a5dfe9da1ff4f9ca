"""`POST /api/v1/jobs/bulk`: cancel, retry or delete many jobs in a background job."""

from __future__ import annotations

from flask import jsonify, url_for

from webapp.api import bp
from webapp.api.auth import api_user
from webapp.api.inputs import json_body
from webapp.api.serialize import job_to_dict
from webapp.explorer import bulk
from webapp.extensions import db


@bp.post("/jobs/bulk")
def bulk_jobs():
    """`{"action", "ids"}` or `{"action", "filter"}`: 202 with the bulk job, which acts on
    each job the caller may see and the action still applies to (the rest are skipped)."""
    selection = bulk.from_body(json_body())
    job = bulk.start(api_user(), selection)
    db.session.refresh(job)
    response = jsonify(job_to_dict(job))
    response.status_code = 202
    response.headers["Location"] = url_for("api.get_job", job_id=job.id)
    return response
