"""The jobs explorer's pages: the filter form and its results, saved views, bulk actions.

The filter is a GET form, so every view of the explorer is a URL to bookmark. The POST forms
(bulk actions, saving a view) carry the page's filter as its query string in a hidden field
and go back to the page with a message (303); a refusal shows the page again, with its
status and the message where the form is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from webapp.explorer import bp, bulk, filters, saved, search
from webapp.explorer.cursor import decode
from webapp.explorer.filters import FIELDS, TIME_FIELDS, JobFilter
from webapp.extensions import db
from webapp.fragments import render_htmx_template
from webapp.jobs import service
from webapp.jobs.registry import all_tasks, queue_names
from webapp.live import poller
from webapp.models import ERROR_CODES, STATUSES
from webapp.navigation import local_path
from webapp.quotas import QuotaExceeded
from webapp.templating import status_label
from webapp.validation import ParamsError

# A page as Sidekiq's and GoodJob's dashboards show it; 50 and 100 are a choice away.
PER_PAGE = 25
MAX_PER_PAGE = 100  # also the most jobs a request acts on itself; more go to a bulk job
SCOPES = ("selected", "page", "all")


def _per_page() -> int:
    """?per_page=, clamped to 1..MAX_PER_PAGE (HTML pages clamp; the API refuses)."""
    return min(max(request.args.get("per_page", PER_PAGE, type=int) or PER_PAGE, 1),
               MAX_PER_PAGE)


@bp.get("/jobs")
@login_required
def index():
    """The jobs that match the filter, a keyset page at a time, with their count."""
    try:
        job_filter = filters.from_args(request.args)
        cursor = decode(request.args.get("cursor"))
    except ParamsError as exc:
        return _render(None, 422, errors=exc.details)
    return _render(search.explore(current_user, job_filter, cursor, _per_page(),
                                  search.page_shape(current_user)))


def _render(listing: search.Listing | None, status: int = 200, errors=(), **messages):
    """The page; after a bad filter (`errors`) the form marks each field and lists no jobs.
    `messages`: bulk_error or view_error, said beside their form."""
    job_filter = listing.filter if listing else JobFilter()
    live_poll = poller.start(current_user)  # its bulk jobs' cards are live
    bulk_jobs = bulk.recent_jobs(current_user)
    return render_htmx_template(
        "explorer/index.html", status=status, listing=listing,
        errors={d["field"]: d["message"] for d in errors},
        values=_raw_values() if errors else _values(job_filter),
        query=saved.query_string(job_filter), per_page=_per_page(), default_per_page=PER_PAGE,
        views=saved.list_views(current_user), bulk_jobs=bulk_jobs,
        live_poll=live_poll.arm(any(not job.is_final for job in bulk_jobs)),
        statuses=[(s.value, status_label(s.value)) for s in STATUSES],
        tasks=all_tasks(), queues=queue_names(), error_codes=ERROR_CODES,
        bulk_error=messages.get("bulk_error"), view_error=messages.get("view_error"))


def _values(job_filter: JobFilter) -> dict:
    """What the form's fields show for a filter (times as a datetime-local field takes them,
    in UTC)."""
    values: dict = {name: "" for name in FIELDS}
    values.update({k: v for k, v in job_filter.to_args().items() if k != "status"})
    for name in TIME_FIELDS:
        if (moment := getattr(job_filter, name)) is not None:
            values[name] = _local(moment)
    values["status"] = set(job_filter.status)
    return values


def _raw_values() -> dict:
    values: dict = {name: request.args.get(name, "") for name in FIELDS}
    values["status"] = set(request.args.getlist("status"))
    return values


def _local(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


def _posted_filter() -> JobFilter:
    """The filter of the page a form was posted from (its query string, a hidden field)."""
    try:
        return filters.from_args(MultiDict(parse_qsl(request.form.get("query", ""))))
    except ParamsError as exc:
        problem = exc.details[0]
        abort(422, description=f"This form's filter is not valid ({problem['field']}: "
                               f"{problem['message']}); reload the jobs page.")


def _back(job_filter: JobFilter) -> str:
    return local_path(request.form.get("next"),
                      url_for("explorer.index", **job_filter.to_args()))


def _refused(job_filter: JobFilter, status: int = 422, **messages):
    """The page again (its first page), with the refusal said beside the form."""
    db.session.rollback()
    listing = search.explore(current_user, job_filter, None, _per_page(),
                             search.page_shape(current_user))
    return _render(listing, status, **messages)


@bp.post("/jobs/bulk")
@login_required
def bulk_action():
    """Cancel, retry or delete the ticked jobs, this page's, or (in the background) all
    that match the filter."""
    job_filter = _posted_filter()
    try:
        message = _bulk(bulk.parse_action(request.form.get("action")), job_filter)
    except ParamsError as exc:
        return _refused(job_filter, bulk_error=exc.details[0]["message"])
    except QuotaExceeded as exc:
        return _refused(job_filter, 429, bulk_error=exc.message)
    except service.QueueUnavailable as exc:
        return _refused(job_filter, 503, bulk_error=str(exc))
    flash(message)
    return redirect(_back(job_filter), 303)


def _bulk(action: str, job_filter: JobFilter) -> str:
    """Do it now (a page at most) or start the bulk job; what to tell the person."""
    scope = request.form.get("scope", "selected")
    if scope not in SCOPES:
        raise ParamsError([{"field": "scope", "message": "Choose the ticked jobs, this page "
                            "or all that match."}])
    if scope == "all":
        bulk.start(current_user, bulk.Selection(action, filter=job_filter))
        return (f"{bulk.ACTIONS[action][0]} every job that matches, in the background: its "
                "card shows how far it got.")
    field = "ids" if scope == "selected" else "page_ids"
    if not request.form.getlist(field):
        raise ParamsError([{"field": field, "message": "Tick the jobs to act on first (or "
                            "choose every job on this page, or all that match)."}])
    ids = bulk.parse_ids(request.form.getlist(field), field)
    if len(ids) > MAX_PER_PAGE:
        bulk.start(current_user, bulk.Selection(action, ids=ids))
        return f"{bulk.ACTIONS[action][0]} {len(ids)} jobs in the background."
    return bulk.describe(bulk.act_now(current_user, action, ids)) + "."


@bp.post("/jobs/views")
@login_required
def save_view():
    """Save the page's filter under a name (the same name again replaces it)."""
    job_filter = _posted_filter()
    try:
        view = saved.save_view(current_user, request.form.get("name", ""), job_filter)
    except ParamsError as exc:
        return _refused(job_filter, view_error=exc.details[0]["message"])
    db.session.commit()
    flash(f"Saved the view “{view.name}”.")
    return redirect(url_for("explorer.index", **job_filter.to_args()), 303)


@bp.post("/jobs/views/<int:view_id>/delete")
@login_required
def delete_view(view_id: int):
    """Delete one of your saved views."""
    if not saved.delete_view(current_user, view_id):
        abort(404, description="No such saved view: it was deleted, or it is not yours.")
    db.session.commit()
    flash("View deleted.")
    return redirect(local_path(request.form.get("next"), url_for("explorer.index")), 303)
