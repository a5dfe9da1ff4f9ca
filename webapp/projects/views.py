"""Project pages: list and create, edit settings and script, render, watch, delete."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.exceptions import NotFound

from webapp.errors import http_error
from webapp.extensions import db
from webapp.fragments import render_fragment, render_htmx_template, wants_fragment
from webapp.jobs import service
from webapp.live import poller
from webapp.media import service as media
from webapp.models import Project
from webapp.pagination import page_number
from webapp.projects import bp, forms, previews, renders
from webapp.projects import service as projects
from webapp.projects.live import GONE, output_context, wrote_script
from webapp.projects.schemas import Limits
from webapp.render import providers
from webapp.validation import ParamsError
from webapp.video.captions import POSITIONS, SIZE_LABELS, STYLES, Captions
from webapp.video.formats import FORMATS
from webapp.video.themes import FONTS, THEMES
from webapp.video.voices import VOICES

# The captions' settings as the form offers them: (name, label, options, default).
CAPTION_CHOICES = (("style", "Caption style", STYLES, Captions.style),
                   ("position", "Position", POSITIONS, Captions.position),
                   ("size", "Size", SIZE_LABELS, Captions.size))


def project_or_404(project_id: int) -> Project:
    project = projects.get_project(current_user, project_id)
    if project is None:
        abort(404, description=GONE)
    return project


@bp.errorhandler(404)
def _gone(exc: NotFound):
    """A project that is gone: the render output htmx polls becomes a note that says so,
    which polls no more; anything else is the usual 404."""
    if wants_fragment() and request.args.get("block") == "output":
        response = render_fragment("projects/_gone.html", 404, message=GONE)
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    return http_error(exc)


def _choices() -> dict:
    status = providers.status()
    return {"formats": FORMATS, "voices": VOICES, "themes": THEMES, "fonts": FONTS,
            "caption_choices": CAPTION_CHOICES, "providers": status,
            "unavailable_voices": providers.unavailable_voices(status["voice"]),
            "limits": Limits.from_config(current_app.config),
            "script_provider": current_app.config["SCRIPT_PROVIDER"]}


@bp.get("")
@login_required
def index():
    """The user's projects and a form to start a new one."""
    return _index_page()


def _index_page(errors: dict | None = None, form=None, status: int = 200):
    """The project list and the new-project form; `form` is a posted one to show again."""
    listing = projects.list_projects(current_user, page_number(), per_page=24)
    choices = _choices()
    values = forms.new_project_values(projects.defaults(), choices["unavailable_voices"])
    if form is not None:
        values = forms.values_from_form(form, values["voice"])
    return render_template("projects/index.html", listing=listing,
                           videos=renders.latest_videos(listing.items),
                           latest=renders.latest_renders(listing.items),
                           errors=errors or {}, values=values, **choices), status


@bp.post("")
@login_required
def create():
    """Create a project from the new-project form."""
    data = forms.project_from_form(request.form, include_script_text=True)
    try:
        project = projects.create_project(current_user, data)
    except ParamsError as exc:
        return _index_page(forms.errors_by_field(exc), request.form, 422)
    except service.QuotaExceeded as exc:
        db.session.rollback()
        return _index_page({"title": exc.message}, request.form, 429)
    db.session.commit()
    flash(f"Created {project.title}.")
    return redirect(url_for("projects.project_page", project_id=project.id), 303)


def show_page(project: Project, errors: dict | None = None, status: int = 200, form=None):
    """The project page; `form` is a posted form to show again with its errors."""
    live_poll = poller.start(current_user)  # before the rows its output shows
    files = media.by_id(project)  # the scenes' uploads and the music track, one query
    part = form.get("part") if form else None
    settings = (forms.values_from_form(form, project.voice) if part == "settings"
                else forms.values_from_project(project))
    context = {**output_context(project), "errors": errors or {},
               "settings_values": settings,
               "posted_scenes": forms.rows_from_form(form) if part == "script" else None,
               "preview_tags": previews.preview_tags(project),
               "media_files": files,
               "music": media.music_among(files),
               **_choices()}
    context["live_poll"] = live_poll.arm(context["rendering"])
    blocks = ["output"] if request.args.get("block") == "output" else []
    over = not context["rendering"] and wrote_script(context["renders"])
    if blocks and over and wants_fragment():
        # The render is over and wrote the script: refresh the (empty) editor too.
        blocks.append("script_section")
        context["oob_script"] = True
    return render_htmx_template("projects/page.html", blocks, status, **context)


@bp.get("/<int:project_id>")
@login_required
def project_page(project_id: int):
    """Settings, script editor, renders with live stage cards, and the video."""
    return show_page(project_or_404(project_id))


@bp.post("/<int:project_id>")
@login_required
def update(project_id: int):
    """Save the settings form or the script editor."""
    project = project_or_404(project_id)
    part = request.form.get("part")
    if part == "script":
        data = {"script": forms.script_from_form(request.form)}
    else:
        data = forms.project_from_form(request.form)
    try:
        projects.update_project(project, data, current_user)
    except ParamsError as exc:
        return show_page(project, forms.errors_by_field(exc), 422, request.form)
    db.session.commit()
    flash("Script saved." if part == "script" else "Settings saved.")
    anchor = "#script" if part == "script" else ""
    return redirect(url_for("projects.project_page", project_id=project.id) + anchor, 303)


@bp.get("/<int:project_id>/scenes/<int:number>/preview.png")
@login_required
def scene_preview(project_id: int, number: int):
    """Scene `number`'s still with a caption sample, as the video will show it. Asked for
    with the current tag (`v`, which the editor puts in the URL) it is cached for good; any
    other is answered fresh (an older tag's URL shows the scene as it is now). A browser
    that holds the current one gets a 304 without the scene being drawn."""
    project = project_or_404(project_id)
    tag = previews.preview_tag(project, number)
    if not tag:
        abort(404, description="The project has no such scene.")
    unchanged = request.if_none_match.contains(tag)
    response = make_response(b"" if unchanged else previews.preview_png(project, number),
                             304 if unchanged else 200)
    response.content_type = "image/png"
    response.set_etag(tag)
    response.headers["Cache-Control"] = ("private, max-age=31536000, immutable"
                                         if request.args.get("v") == tag else "private, no-cache")
    return response


@bp.post("/<int:project_id>/render")
@login_required
def render(project_id: int):
    """Start a render of the project. No flash says so: a flash would stay on the page after
    the render ended; the render's own block (polled while it runs) shows where it is."""
    project = project_or_404(project_id)
    try:
        renders.start_render(project, current_user)  # forms have no idempotency key
    except ParamsError as exc:
        return show_page(project, forms.errors_by_field(exc), 422)
    except (renders.RenderConflict, service.QueueUnavailable, service.QuotaExceeded) as exc:
        db.session.rollback()
        flash(str(exc), "error")
    return redirect(url_for("projects.project_page", project_id=project.id), 303)


@bp.post("/<int:project_id>/delete")
@login_required
def delete(project_id: int):
    """Delete the project, its renders and its files."""
    project = project_or_404(project_id)
    title = project.title
    try:
        projects.delete_project(project, current_user)
    except service.QueueUnavailable as exc:
        flash(str(exc), "error")
        return redirect(url_for("projects.project_page", project_id=project_id), 303)
    db.session.commit()
    flash(f"Deleted {title}.")
    return redirect(url_for("projects.index"), 303)
