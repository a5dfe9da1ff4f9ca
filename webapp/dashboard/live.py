"""The dashboard's live parts (webapp/live/regions.py): job cards ("c", on the home page and
the explorer), a job page's detail ("d"), and the newest jobs of the home page's first page
("n", which rides along with the polls of its cards)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g, render_template
from jinja2_fragments.flask import render_block
from sqlalchemy.orm import selectinload

from webapp.dashboard.views import GONE, on_home
from webapp.extensions import db
from webapp.jobs import queries
from webapp.live.regions import Changes, Watched, job_tag, region
from webapp.models import BackgroundJob, User

J = BackgroundJob


def _visible(user: User, *where):
    """The user's visible jobs that match; with their owners only when an admin may be
    shown someone else's (the card names the owner then)."""
    stmt = queries.visible_jobs(user).where(*where)
    return stmt.options(selectinload(J.user)) if user.is_admin else stmt


def _counts(user: User) -> list[str]:
    """The home page's job counts, once per poll, when a card ended or new ones came."""
    if g.get("live_counts_sent") or not on_home():
        return []
    g.live_counts_sent = True
    return [render_template("dashboard/_counts.html", counts=queries.job_counts(user),
                            oob=True)]


@region("c")
def cards(user: User, watched: Watched) -> Changes:
    """The cards that changed, a note for each that is gone; counts when one ended."""
    entries = watched.job_entries("c")
    rows = db.session.scalars(_visible(user, J.id.in_([i for i, _ in entries])))
    jobs = {job.id: job for job in rows}
    found, ended = Changes(), False
    for job_id, tag in entries:
        job = jobs.get(job_id)
        if job is None:
            found.html.append(render_template("dashboard/_gone.html", message=GONE,
                                              gone_id=f"job-{job_id}"))
            ended = True
            continue
        found.live = found.live or not job.is_final
        if job_tag(job) != tag:
            found.html.append(render_template("dashboard/_card.html", job=job, card_oob=True))
            ended = ended or job.is_final
    if ended:
        found.html.extend(_counts(user))
    return found


@region("d")
def detail(user: User, watched: Watched) -> Changes:
    """A job page's detail block, when its job changed; a note if it is gone."""
    for job_id, tag in watched.job_entries("d")[:1]:
        job = queries.get_job(user, job_id)
        if job is None:
            return Changes([render_template("dashboard/_gone.html", message=GONE,
                                            gone_id="job-detail")])
        if job_tag(job) == tag:
            return Changes([], not job.is_final)
        html = render_block("dashboard/job.html", "job_detail", job=job, detail_oob=True)
        return Changes([html], not job.is_final)
    return Changes()


@region("n", keeps_polling=False)
def newest(user: User, watched: Watched) -> Changes:
    """Jobs created after the newest the page knows, that it does not show yet."""
    try:
        since = datetime.fromisoformat(watched.values("n")[0])
    except ValueError:
        return Changes()
    if since.tzinfo is None:
        return Changes()
    rows = db.session.scalars(
        _visible(user, J.created_at > since).order_by(J.created_at.desc(), J.id.desc())
        .limit(current_app.config["JOBS_PER_PAGE"])).all()
    shown = {job_id for job_id, _ in watched.job_entries("c")}
    jobs = [job for job in rows if job.id not in shown]
    if not jobs:
        return Changes()
    html = render_template("dashboard/_newest.html", jobs=jobs,
                           newest_since=rows[0].created_at.isoformat())
    return Changes([html, *_counts(user)], any(not job.is_final for job in jobs))
