"""The JSON shapes of tasks and jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from webapp.api.auth import api_user
from webapp.jobs.registry import Task, get_task
from webapp.models import BackgroundJob, User
from webapp.render.outputs import files_of
from webapp.video.captions import Captions


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


def job_to_dict(job: BackgroundJob, viewer: User | None = None) -> dict[str, Any]:
    """A job as the API shows it; the traceback only to admins (`viewer`; default: the caller),
    since it names the server's files and code."""
    task = get_task(job.task)
    viewer = viewer if viewer is not None else api_user()
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
        "traceback": job.traceback if viewer.is_admin else None,
        "attempt": job.attempt,
        "max_attempts": task.max_attempts if task else None,
        "project_id": job.project_id,
        "user_id": job.user_id,
        "worker_name": job.worker_name,
        "cancel_requested": job.cancel_requested_at is not None,
        "held": job.held,
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


def job_files(job: BackgroundJob, endpoint: str = "api.job_file") -> dict[str, str]:
    """URLs of a finished render's files (video, subtitles, thumbnail)."""
    return {name: url_for(endpoint, job_id=job.id, name=name) for name in files_of(job)}


def render_to_dict(summary) -> dict[str, Any]:
    return {
        "pipeline_id": str(summary.pipeline_id),
        "status": summary.status,
        "message": summary.message,
        "stages": [job_to_dict(job) for job in summary.stages],
        "files": job_files(summary.video) if summary.video else {},
    }


def project_to_dict(project, renders: list | None = None, video: BackgroundJob | None = None
                    ) -> dict[str, Any]:
    body = {
        "id": project.id,
        "title": project.title,
        "topic": project.topic,
        "outline": project.outline,
        "script": project.script,
        "format": project.format,
        "voice": project.voice,
        "theme": project.theme,
        "music_level": project.music_level,
        "narration_speed": project.narration_speed,
        "captions": Captions.of(project.captions).as_dict(),
        "burn_subtitles": project.burn_subtitles,
        "stock_provider": project.stock_provider,
        "stock_kind": project.stock_kind,
        "user_id": project.user_id,
        "created_at": _iso(project.created_at),
        "updated_at": _iso(project.updated_at),
        "links": {
            "self": url_for("api.get_project", project_id=project.id),
            "render": url_for("api.render_project", project_id=project.id),
            "page": url_for("projects.project_page", project_id=project.id),
        },
    }
    if renders is not None:
        body["renders"] = [render_to_dict(r) for r in renders]
    if video is not None or renders is not None:
        body["video"] = (
            {"job_id": video.rq_id, "files": job_files(video),
             "credits": (video.result or {}).get("credits") or [], **{
                k: (video.result or {}).get(k) for k in ("duration", "width", "height", "size")}}
            if video else None
        )
    return body
