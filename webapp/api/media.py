"""A project's uploads through the API: a picture or clip per scene, a music track.

Uploads are multipart/form-data with the file in `file` (`curl -F file=@beach.jpg`); a
file that may not be kept is a 422 naming the `file` field and the reason, and nothing is
stored. PUT replaces what the scene (or the project's music) had.
"""

from __future__ import annotations

from flask import jsonify, url_for

from webapp.api import bp
from webapp.api.auth import api_user
from webapp.api.projects import project_or_404
from webapp.errors import ApiError
from webapp.extensions import db
from webapp.media import service as media
from webapp.media.inspect import MediaRejected
from webapp.media.uploads import accepts, receive
from webapp.models import MediaFile, Project
from webapp.render.files import send_stored


def media_to_dict(project: Project, found: MediaFile) -> dict:
    scenes = [i for i, media_id in enumerate(media.scene_media_ids(project.script), 1)
              if media_id == found.id]
    return {"id": found.id, "kind": found.kind, "name": found.name,
            "content_type": found.content_type, "size": found.size, "width": found.width,
            "height": found.height, "duration": found.duration, "sha256": found.sha256,
            "scenes": scenes, "created_at": found.created_at.isoformat(),
            "url": url_for("api.media_file", project_id=project.id, media_id=found.id)}


def _kept(project: Project, found: MediaFile):
    response = jsonify(media_to_dict(project, found))
    response.status_code = 201
    response.headers["Location"] = response.json["url"]
    return response


@bp.get("/projects/<int:project_id>/media")
def list_media(project_id: int):
    """The project's uploads: each scene's picture or clip, and the music track."""
    project = project_or_404(project_id)
    return jsonify({"items": [media_to_dict(project, m) for m in media.media_of(project)]})


@bp.put("/projects/<int:project_id>/scenes/<int:number>/media")
@accepts(*media.SCENE_KINDS)
def put_scene_media(project_id: int, number: int):
    """Give scene `number` (1-based) a picture or a clip; 201 with it."""
    project = project_or_404(project_id)
    with media.receiving() as folder:
        try:
            kept = media.attach_to_scene(project, number, receive(media.SCENE_KINDS, folder),
                                         folder, api_user())
        except MediaRejected as exc:
            raise media.rejected(exc) from None
        db.session.commit()
    return _kept(project, kept)


@bp.delete("/projects/<int:project_id>/scenes/<int:number>/media")
def delete_scene_media(project_id: int, number: int):
    """Make scene `number` a text scene again; its file is deleted."""
    project = project_or_404(project_id)
    if not media.detach_from_scene(project, number, api_user()):
        raise ApiError(404, f"Scene {number} has no picture or clip.")
    db.session.commit()
    return "", 204


@bp.put("/projects/<int:project_id>/music")
@accepts(*media.MUSIC_KINDS)
def put_music(project_id: int):
    """Give the project a music track (at music_level 40 if its music was off); 201."""
    project = project_or_404(project_id)
    with media.receiving() as folder:
        try:
            kept = media.set_music(project, receive(media.MUSIC_KINDS, folder), folder,
                                   api_user())
        except MediaRejected as exc:
            raise media.rejected(exc) from None
        db.session.commit()
    return _kept(project, kept)


@bp.delete("/projects/<int:project_id>/music")
def delete_music(project_id: int):
    """Remove the project's music track."""
    project = project_or_404(project_id)
    if not media.remove_music(project, api_user()):
        raise ApiError(404, "The project has no music track.")
    db.session.commit()
    return "", 204


@bp.get("/projects/<int:project_id>/media/<int:media_id>")
def media_file(project_id: int, media_id: int):
    """An uploaded file; supports Range."""
    project = project_or_404(project_id)
    found = media.one_of(project, media_id)
    response = send_stored(found.key, found.content_type, found.name) if found else None
    if response is None:
        raise ApiError(404, "No such file in this project.")
    return response
