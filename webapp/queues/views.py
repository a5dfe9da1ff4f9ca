"""The queues and workers pages, for admins: each queue's numbers with pause and resume,
every live worker with its job, which an admin can stop from here."""

from __future__ import annotations

import uuid

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from webapp.errors import show_error
from webapp.extensions import db
from webapp.jobs import pauses, service
from webapp.jobs.connection import get_redis
from webapp.queues import bp, stats, workers


def _admin_only() -> None:
    if not current_user.is_admin:
        abort(403)


@bp.errorhandler(pauses.UnknownQueue)
@bp.errorhandler(workers.WorkerGone)
def _not_found(exc: Exception):
    """A queue or worker name in the URL that does not exist: 404 saying so."""
    return show_error(404, str(exc))


@bp.get("/queues")
@login_required
def queues_page():
    """Every queue: waiting, scheduled, running, failed in 24 h, oldest waiting, pause."""
    _admin_only()
    return render_template("queues/queues.html", queues=stats.queue_stats(get_redis()))


@bp.post("/queues/<name>/pause")
@login_required
def pause_queue(name: str):
    """Pause a queue: workers take no new job from it; running jobs finish."""
    _admin_only()
    _, changed = pauses.pause(name, current_user, get_redis())
    db.session.commit()
    flash(f"Queue {name} paused: workers take no new job from it; running jobs finish."
          if changed else f"Queue {name} was already paused.")
    return redirect(url_for("queues.queues_page"), 303)


@bp.post("/queues/<name>/resume")
@login_required
def resume_queue(name: str):
    """Resume a queue: workers take its jobs again, oldest first."""
    _admin_only()
    ended = pauses.resume(name, current_user, get_redis())
    db.session.commit()
    flash(f"Queue {name} resumed." if ended else f"Queue {name} was not paused.")
    return redirect(url_for("queues.queues_page"), 303)


def _workers_page(errors: dict[str, str] | None = None, status: int = 200):
    listing = workers.live_workers(get_redis(), current_app.config["WORKER_HEARTBEAT_INTERVAL"])
    return render_template("queues/workers.html", workers=listing, errors=errors or {}), status


@bp.get("/workers")
@login_required
def workers_page():
    """Every live worker: host, pid, queues, state, job, heartbeat, memory, counts."""
    _admin_only()
    return _workers_page()


@bp.post("/workers/<name>/stop-job")
@login_required
def stop_job(name: str):
    """Stop the job a worker runs (the form names it: the page may be old)."""
    _admin_only()
    try:
        job_id = str(uuid.UUID(request.form.get("job_id", "").strip()))
    except ValueError:
        return _workers_page({name: "job_id: the form must name the job to stop."}, 422)
    try:
        workers.stop_current_job(get_redis(), name, job_id, current_user)
    except service.JobConflict as exc:
        db.session.rollback()
        return _workers_page({name: str(exc)}, 409)
    except service.QueueUnavailable as exc:  # the stop is recorded; the reconciler resends it
        return _workers_page({name: str(exc)}, 503)
    flash(f"Stopping job {job_id} on worker {name}…")
    return redirect(url_for("queues.workers_page"), 303)
