"""Dashboard pages and fragments; every action is a real form that also works without JS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound

from webapp.dashboard import bp
from webapp.dashboard.forms import form_fields, params_from_form
from webapp.errors import http_error
from webapp.extensions import db
from webapp.fragments import render_fragment, render_htmx_template, wants_fragment
from webapp.jobs import queries, service
from webapp.jobs.registry import Task, get_task, launchable_tasks
from webapp.live import poller
from webapp.models import BackgroundJob
from webapp.navigation import local_path
from webapp.pagination import page_number
from webapp.projects import renders
from webapp.projects.service import list_projects
from webapp.render import files
from webapp.validation import ParamsError
from webapp.video.formats import FORMATS

RECENT_PROJECTS = 4
# The newest job a first page knows when it lists none (webapp/dashboard/live.py).
NO_JOBS_YET = "1970-01-01T00:00:00+00:00"
GONE = "This job no longer exists: it was deleted, or it is not yours to see."


def _job_or_404(job_id: uuid.UUID) -> BackgroundJob:
    job = queries.get_job(current_user, job_id)
    if job is None:
        abort(404, description=GONE)
    return job


@bp.errorhandler(404)
def _gone(exc: NotFound):
    """A job that is gone: a card or a job page's live part that htmx asked for becomes a
    note that says so, which polls no more; anything else is the usual 404."""
    if wants_fragment() and "job_id" in (request.view_args or {}):
        response = render_fragment("dashboard/_gone.html", 404, message=GONE)
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return http_error(exc)


def _launch_form(task: Task, details: list[dict] | None = None, values: dict | None = None):
    """Context for one launch form: the task, its fields, errors and entered values."""
    return {
        "task": task,
        "fields": form_fields(task),
        "errors": {d["field"]: d["message"] for d in details or []},
        "values": values or {},
    }


def _home(status: int = 200, failed: Task | None = None, details=None, values=None):
    """The home page; `failed` is a task whose form comes back with its errors."""
    live_poll = poller.start(current_user)  # before the rows it watches
    page = page_number()
    listing = queries.list_jobs(current_user, page=page,
                                per_page=current_app.config["JOBS_PER_PAGE"])
    forms = [_launch_form(t, details, values) if t is failed else _launch_form(t)
             for t in launchable_tasks()]
    recent = list_projects(current_user, 1, per_page=RECENT_PROJECTS)
    newest = (listing.items[0].created_at.isoformat() if listing.items else NO_JOBS_YET)
    return render_htmx_template(
        "dashboard/home.html", status=status, forms=forms, failed_task=failed,
        listing=listing, counts=queries.job_counts(current_user), recent=recent,
        recent_videos=renders.latest_videos(recent.items),
        recent_renders=renders.latest_renders(recent.items), formats=FORMATS,
        newest_since=newest if page == 1 else None,
        live_poll=live_poll.arm(any(not job.is_final for job in listing.items)))


def on_home() -> bool:
    """Whether this htmx request comes from the home page (which shows the job counts)."""
    return urlsplit(request.headers.get("HX-Current-URL", "")).path == url_for("dashboard.home")


def _on_first_home_page() -> bool:
    """Whether it comes from the home page's first page (which lists the newest jobs)."""
    query = parse_qs(urlsplit(request.headers.get("HX-Current-URL", "")).query)
    return on_home() and query.get("page", ["1"])[-1] in ("", "1")


def _counts_for_home(job: BackgroundJob | None = None) -> dict:
    """The job counts to send out of band with a card, when the home page shows them and
    they may have changed: `job` ended (a poll of a live card), or no job (any action)."""
    if on_home() and (job is None or job.is_final):
        return {"counts_oob": queries.job_counts(current_user)}
    return {}


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico by habit (static/favicon.ico also serves rq-dashboard,
    whose pages name the app's static folder for it)."""
    return redirect(url_for("static", filename="favicon.ico"), 301)


@bp.get("/")
@login_required
def home():
    """Launch forms and the user's job cards, newest first."""
    return _home()


@bp.post("/jobs")
@login_required
def start_job():
    """Start a job from a launch form."""
    task = get_task(request.form.get("task", ""))
    if task is None or not task.launchable:
        abort(404)
    raw = params_from_form(task, request.form)
    try:
        job, _ = service.submit(task, raw, current_user)
    except ParamsError as exc:
        return _launch_failed(task, exc.details, raw)
    except service.QuotaExceeded as exc:
        response = _launch_failed(task, [{"field": "(limit)", "message": exc.message}], raw,
                                  429)
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except service.QueueUnavailable as exc:
        return _launch_failed(task, [{"field": "(queue)", "message": str(exc)}], raw, 503)
    if wants_fragment():
        newest = job.created_at.isoformat() if _on_first_home_page() else None
        return render_fragment("dashboard/_launched.html", form=_launch_form(task), job=job,
                               newest_since=newest, live_poll=poller.rearmed(),
                               **_counts_for_home())
    flash(f"Started {task.title}.")
    return redirect(url_for("dashboard.home"), 303)


def _launch_failed(task, details, raw, status: int = 422):
    """Show the launch form again with each bad field marked."""
    if wants_fragment():
        return render_fragment("dashboard/_launch_form.html", status,
                               form=_launch_form(task, details, raw))
    return _home(status, task, details, raw)


@bp.get("/jobs/<uuid:job_id>")
@login_required
def job_page(job_id: uuid.UUID):
    """Everything about one job, its detail watched by the page's poll while it runs; htmx
    asking from inside the page gets just the detail block."""
    live_poll = poller.start(current_user)
    job = _job_or_404(job_id)
    return render_htmx_template("dashboard/job.html", ["job_detail"], job=job,
                                live_poll=live_poll.arm(not job.is_final))


@bp.get("/jobs/<uuid:job_id>/card")
@login_required
def job_card(job_id: uuid.UUID):
    """One job card (with its live input only while the job is not final)."""
    job = _job_or_404(job_id)
    return render_template("dashboard/_card.html", job=job, **_counts_for_home(job))


@bp.get("/jobs/<uuid:job_id>/files/<name>")
@login_required
def job_file(job_id: uuid.UUID, name: str):
    """A file of a finished job, for its owner; supports Range so players can seek."""
    response = files.send_job_file(_job_or_404(job_id), name)
    if response is None:
        abort(404)
    return response


def safe_referrer(job: BackgroundJob) -> str:
    """Return to the page the action came from when it is ours, else the job page."""
    return local_path(request.form.get("next"), url_for("dashboard.job_page", job_id=job.id))


def _act(job_id: uuid.UUID, name: str, action: Callable[[BackgroundJob], str]):
    """Run a card action; htmx gets the refreshed card, a plain form a 303 back."""
    job = _job_or_404(job_id)
    error, status = None, 200
    try:
        done = action(job)
    except service.JobConflict as exc:
        error, status = str(exc), 409
    except service.QuotaExceeded as exc:
        db.session.rollback()
        error, status = exc.message, 429
    except service.QueueUnavailable as exc:
        error, status = str(exc), 503
    db.session.refresh(job)
    if wants_fragment():
        # A card that is live again (a retry) must be watched: the poller is armed for it.
        rearm = poller.rearmed() if not job.is_final else None
        return render_fragment("dashboard/_card.html", status, job=job, action_error=error,
                               live_poll_oob=rearm, **_counts_for_home())
    flash(error or done, "error" if error else "info")
    return redirect(safe_referrer(job), 303)


def _cancel(job: BackgroundJob) -> str:
    outcome = service.cancel(job, current_user)
    return ("Job canceled." if outcome is service.CancelResult.CANCELED
            else "Stopping the job…")


def _retry(job: BackgroundJob) -> str:
    service.retry(job, current_user)
    return "Job queued again."


@bp.post("/jobs/<uuid:job_id>/cancel")
@login_required
def cancel_job(job_id: uuid.UUID):
    """Cancel a waiting job or stop a running one."""
    return _act(job_id, "cancel", _cancel)


@bp.post("/jobs/<uuid:job_id>/retry")
@login_required
def retry_job(job_id: uuid.UUID):
    """Run a failed, stopped or canceled job again."""
    return _act(job_id, "retry", _retry)


@bp.post("/jobs/<uuid:job_id>/delete")
@login_required
def delete_job(job_id: uuid.UUID):
    """Delete a final job; htmx removes its card, a plain form goes back."""
    job = _job_or_404(job_id)
    try:
        service.delete(job, current_user)
    except (service.JobConflict, service.QueueUnavailable) as exc:
        status = 409 if isinstance(exc, service.JobConflict) else 503
        if wants_fragment():
            db.session.refresh(job)
            return render_fragment("dashboard/_card.html", status, job=job,
                                   action_error=str(exc))
        flash(str(exc), "error")
        return redirect(safe_referrer(job), 303)
    if wants_fragment():
        return render_fragment("dashboard/_deleted.html", **_counts_for_home())
    flash("Job deleted.")
    return redirect(local_path(request.form.get("next"), url_for("dashboard.home")), 303)
