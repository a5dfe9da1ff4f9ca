"""GET /live: the full path of a page's poll (an unchanged one was answered before Flask,
webapp/live/shortcut.py): who is signed in (PostgreSQL), the tokens, the live parts that
changed, out of band, with the poller's new validator; 204 when nothing did."""

from __future__ import annotations

from flask import current_app, make_response, render_template, request
from flask_login import current_user

from webapp.fragments import varies
from webapp.live import bp, poller, regions
from webapp.live.regions import job_tag

NOTHING_NEW = 204


@bp.app_template_global()
def live_tag(job) -> str:
    """The tag of a job's shown state, for its live input."""
    return job_tag(job)


def _answer(html: list[str], page_poller: poller.Poller | None):
    """The changed parts and the poller, all out of band (the poller itself swaps nothing)."""
    if page_poller is not None:
        html = [*html, render_template("live/_poller.html", live_poll=page_poller, oob=True)]
    response = varies(make_response("".join(html)))
    response.headers["Cache-Control"] = "no-store"
    return response


def _stop():
    """Nothing on the page is live: the poller, unarmed. Rendered without the context
    processors, which would load the signed-in user (PostgreSQL) for nothing."""
    template = current_app.jinja_env.get_template("live/_poller.html")
    html = template.render(live_poll=poller.Poller("", armed=False), oob=True)
    return _answer([html], None)


def _nothing_new():
    response = make_response("", NOTHING_NEW)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/live")
def poll():
    """What changed of the page's live parts since its validator; 204 if nothing did."""
    watched = regions.Watched(request.args)
    if not watched.anything_live():
        return _stop()
    sent = request.args.get("v", "")
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    fresh = poller.checked(current_user)  # before the rows: see webapp/jobs/changes.py
    found = regions.changes(current_user, watched)
    if not found.html and fresh.v == sent:
        return _nothing_new()
    return _answer(found.html, fresh.arm(found.live))
