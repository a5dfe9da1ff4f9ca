"""The JSON shapes of tasks and jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from webapp.jobs.registry import Task, get_task
from webapp.models import BackgroundJob


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def task_to_dict(task: Task) -> dict[str, Any]:
    return {
        "name": task.name,
        "title": task.title,
        "description": task.description,
        "queue": task.queue,
        "timeout": task.timeout,
        "max_attempts": task.max_attempts,
        "parameters": task.json_schema,
        "links": {"submit": url_for("api.submit_task", name=task.name)},
    }


def job_to_dict(job: BackgroundJob) -> dict[str, Any]:
    task = get_task(job.task)
    return {
        "id": job.rq_id,
        "task": job.task,
        "title": task.title if task else job.task,
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
        "params": job.params,
        "result": job.result,
        "error": job.error,
        "error_code": job.error_code,
        "traceback": job.traceback,
        "attempt": job.attempt,
        "max_attempts": task.max_attempts if task else None,
        "project_id": job.project_id,
        "user_id": job.user_id,
        "worker_name": job.worker_name,
        "cancel_requested": job.cancel_requested_at is not None,
        "created_at": _iso(job.created_at),
        "enqueued_at": _iso(job.enqueued_at),
        "started_at": _iso(job.started_at),
        "ended_at": _iso(job.ended_at),
        "heartbeat_at": _iso(job.heartbeat_at),
        "links": {
            "self": url_for("api.get_job", job_id=job.id),
            "cancel": url_for("api.cancel_job", job_id=job.id),
            "retry": url_for("api.retry_job", job_id=job.id),
            "page": url_for("dashboard.job_page", job_id=job.id),
        },
    }
