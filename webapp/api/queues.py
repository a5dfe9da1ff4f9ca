"""Admins: the queues (their numbers; pause and resume) and the live workers."""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify, url_for

from webapp.api import bp
from webapp.api.auth import api_user
from webapp.api.inputs import json_body
from webapp.errors import ApiError
from webapp.extensions import db
from webapp.jobs import pauses
from webapp.jobs.connection import get_redis
from webapp.models import User
from webapp.queues import stats, workers


def _admin() -> User:
    user = api_user()
    if not user.is_admin:
        raise ApiError(403, "Only admins may see and pause queues and workers.")
    return user


def _no_parameters() -> None:
    """These calls take no body; anything in one is a 422 naming it."""
    body = json_body()
    if isinstance(body, dict) and not body:
        return
    fields = sorted(map(str, body)) if isinstance(body, dict) else ["(body)"]
    raise ApiError(422, "This call takes no parameters.", details=[
        {"field": field, "message": "Not a parameter of this call."} for field in fields])


def queue_to_dict(queue: stats.QueueStats) -> dict[str, Any]:
    age = queue.oldest_waiting_age()
    pause = queue.pause
    return {
        "name": queue.name, "paused": queue.paused,
        "paused_at": pause.paused_at.isoformat() if pause else None,
        "paused_by": pause.paused_by if pause else None,
        "waiting": queue.waiting, "held": queue.held, "scheduled": queue.scheduled,
        "running": queue.running, "failed_24h": queue.failed_24h,
        "oldest_waiting_at": _time(queue.oldest_waiting_at),
        "oldest_waiting_seconds": round(age.total_seconds(), 3) if age is not None else None,
        "rq": {"waiting": queue.rq_waiting, "scheduled": queue.rq_scheduled,
               "running": queue.rq_running},
        "workers": queue.workers,
    }


def worker_to_dict(worker: workers.WorkerInfo) -> dict[str, Any]:
    job = worker.job
    age = worker.heartbeat_age
    return {
        "name": worker.name, "hostname": worker.hostname, "pid": worker.pid,
        "queues": worker.queues, "state": worker.state,
        "current_job": {"id": job.rq_id, "task": job.task,
                        "url": url_for("api.get_job", job_id=job.id)} if job else None,
        "rq_job_id": job.rq_id if job else worker.rq_job_id,
        "last_heartbeat": _time(worker.last_heartbeat),
        "heartbeat_age_seconds": round(age.total_seconds(), 3) if age is not None else None,
        "heartbeat_interval": worker.heartbeat_interval, "stale": worker.stale,
        "rss_bytes": worker.rss or None, "horse_rss_bytes": worker.horse_rss or None,
        "memory_bytes": worker.memory or None,
        "successful_jobs": worker.successful, "failed_jobs": worker.failed,
        "started_at": _time(worker.born_at),
    }


def _time(value) -> str | None:
    return value.isoformat() if value is not None else None


def _queue(name: str) -> dict[str, Any]:
    return next(queue_to_dict(q) for q in stats.queue_stats(get_redis()) if q.name == name)


@bp.get("/queues")
def list_queues():
    """Admins: every queue's numbers and pause."""
    _admin()
    return jsonify({"items": [queue_to_dict(q) for q in stats.queue_stats(get_redis())]})


@bp.post("/queues/<name>/pause")
def pause_queue(name: str):
    """Admins: pause a queue (workers take no new job from it; running jobs finish)."""
    actor = _admin()
    _no_parameters()
    pauses.pause(name, actor, get_redis())
    db.session.commit()
    return jsonify(_queue(name))


@bp.post("/queues/<name>/resume")
def resume_queue(name: str):
    """Admins: resume a queue."""
    actor = _admin()
    _no_parameters()
    pauses.resume(name, actor, get_redis())
    db.session.commit()
    return jsonify(_queue(name))


@bp.get("/workers")
def list_workers():
    """Admins: every live worker, its job, heartbeat and memory."""
    _admin()
    listing = workers.live_workers(get_redis(), current_app.config["WORKER_HEARTBEAT_INTERVAL"])
    return jsonify({"items": [worker_to_dict(w) for w in listing]})
