"""The project page's uploads: a picture or clip per scene, a music track, and serving them
to the project's owner (and admins). Plain multipart forms, so they work without JavaScript;
a file that may not be kept is a 422 with the page and the reason beside the field."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.media import service as media
from webapp.media.inspect import MediaRejected
from webapp.media.uploads import accepts, receive
from webapp.models import Project
from webapp.projects import bp
from webapp.projects.views import project_or_404, show_page
from webapp.quotas import QuotaExceeded
from webapp.render.files import send_stored
from webapp.validation import ParamsError


def _back(project: Project, anchor: str = ""):
    return redirect(url_for("projects.project_page", project_id=project.id) + anchor, 303)


def _refused(project: Project, field: str, exc: Exception):
    """The page again, with why the upload was not kept beside its field."""
    db.session.rollback()
    if isinstance(exc, QuotaExceeded):
        return show_page(project, {field: exc.message}, 429)
    if isinstance(exc, ParamsError):
        messages = {d["field"]: d["message"] for d in exc.details}
        return show_page(project, {field: messages.get("file") or next(iter(messages.values()))},
                         422)
    return show_page(project, {field: str(exc)}, 422)


@bp.post("/<int:project_id>/scenes/<int:number>/media")
@login_required
@accepts(*media.SCENE_KINDS)
def upload_scene_media(project_id: int, number: int):
    """Give scene `number` a picture or a clip (the `file` field), in place of its own."""
    project = project_or_404(project_id)
    try:
        with media.receiving() as folder:
            kept = media.attach_to_scene(project, number, receive(media.SCENE_KINDS, folder),
                                         folder, current_user)
            db.session.commit()
    except (MediaRejected, ParamsError, QuotaExceeded) as exc:
        return _refused(project, f"scene-{number}-file", exc)
    flash(f"Scene {number} now shows {kept.name}.")
    return _back(project, f"#scene-{number}")


@bp.post("/<int:project_id>/scenes/<int:number>/media/delete")
@login_required
def remove_scene_media(project_id: int, number: int):
    """Make scene `number` a text scene again (its picture or clip is deleted)."""
    project = project_or_404(project_id)
    if not media.detach_from_scene(project, number, current_user):
        abort(404, description=f"Scene {number} has no picture or clip.")
    db.session.commit()
    flash(f"Scene {number} is a text scene again.")
    return _back(project, f"#scene-{number}")


@bp.post("/<int:project_id>/music")
@login_required
@accepts(*media.MUSIC_KINDS)
def upload_music(project_id: int):
    """Give the project a music track (the `file` field), in place of its own."""
    project = project_or_404(project_id)
    try:
        with media.receiving() as folder:
            kept = media.set_music(project, receive(media.MUSIC_KINDS, folder), folder,
                                   current_user)
            db.session.commit()
    except (MediaRejected, ParamsError, QuotaExceeded) as exc:
        return _refused(project, "music-file", exc)
    flash(f"The music is now {kept.name}.")
    return _back(project, "#music")


@bp.post("/<int:project_id>/music/delete")
@login_required
def remove_music(project_id: int):
    """Remove the project's music track (renders go back to the synthesized pad, if any)."""
    project = project_or_404(project_id)
    if not media.remove_music(project, current_user):
        abort(404, description="The project has no music track.")
    db.session.commit()
    flash("The music track is removed.")
    return _back(project, "#music")


@bp.get("/<int:project_id>/media/<int:media_id>")
@login_required
def media_file(project_id: int, media_id: int):
    """An uploaded file of the project, with Range (the page's players seek in it)."""
    project = project_or_404(project_id)
    found = media.one_of(project, media_id)
    response = send_stored(found.key, found.content_type, found.name) if found else None
    if response is None:
        abort(404, description="No such file in this project.")
    return response
