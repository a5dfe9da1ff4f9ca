"""A project's uploaded media: keeping a file for a scene or as the music, listing, removing.

A scene names its picture or clip by id (`"media"` in the project's script); a file no
scene names any more is removed with the change that dropped it (`prune`). These flush and
leave the commit to the caller; the stored files follow the transaction
(webapp/media/pending.py). Kept files are under projects/<id>/media/<token>/, so deleting a
project deletes them with its other media.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from webapp import audit
from webapp.extensions import db
from webapp.media import pending
from webapp.media.inspect import KINDS, Accepted, MediaRejected, inspect
from webapp.media.sniff import sniff
from webapp.media.uploads import FIELD, Upload, limits
from webapp.models import MediaFile, Project, User
from webapp.quotas import QuotaExceeded, lock_user
from webapp.ratelimit import get_limits
from webapp.render.storage import media_root, project_prefix
from webapp.storage import get_store
from webapp.validation import ParamsError

SCENE_KINDS = ("image", "clip")
MUSIC_KINDS = ("music",)
NAMES = {"image": "picture", "clip": "clip", "music": "music"}
DEFAULT_MUSIC_LEVEL = 40  # the level a track gets when the project's music was off


@contextlib.contextmanager
def receiving() -> Iterator[Path]:
    """A scratch folder for one upload on this machine, removed afterwards."""
    parent = media_root() / ".uploads"
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def media_of(project: Project) -> list[MediaFile]:
    """The project's media, oldest first."""
    return list(db.session.scalars(select(MediaFile).where(MediaFile.project_id == project.id)
                                   .order_by(MediaFile.id)))


def by_id(project: Project) -> dict[int, MediaFile]:
    return {media.id: media for media in media_of(project)}


def one_of(project: Project, media_id: int) -> MediaFile | None:
    """The project's upload with this id, or None."""
    return db.session.scalar(select(MediaFile).where(MediaFile.project_id == project.id,
                                                     MediaFile.id == media_id))


def music_of(project: Project) -> MediaFile | None:
    return db.session.scalar(select(MediaFile).where(MediaFile.project_id == project.id,
                                                     MediaFile.kind.in_(MUSIC_KINDS)))


def music_among(files: dict[int, MediaFile]) -> MediaFile | None:
    """The music track among a project's uploads already loaded (by_id), or None."""
    return next((f for f in files.values() if f.kind in MUSIC_KINDS), None)


def scene_media_ids(script: list[dict] | None) -> list[int | None]:
    """The media id each scene names, in scene order (None for a text-only scene)."""
    return [scene.get("media") for scene in script or []]


def attach_to_scene(project: Project, number: int, upload: Upload, workdir: Path,
                    actor: User) -> MediaFile:
    """Keep the upload as scene `number`'s (1-based) picture or clip, in place of the one it
    had. MediaRejected (the file) or ParamsError (the scene) when it cannot be."""
    scenes = [dict(scene) for scene in project.script or []]
    if not 1 <= number <= len(scenes):
        raise ParamsError([{"field": "scene", "message": f"The project has no scene {number}: "
                            f"it has {len(scenes)}. Save the script first."}])
    media = _keep(project, SCENE_KINDS, upload, workdir)
    scenes[number - 1]["media"] = media.id
    project.script = scenes
    prune(project)
    audit.admin_action(actor, "project.media", "project", project.id, project.user_id,
                       scene=number, kind=media.kind)
    db.session.flush()
    return media


def detach_from_scene(project: Project, number: int, actor: User) -> bool:
    """Scene `number` back to a text scene; False when it had no picture or clip."""
    scenes = [dict(scene) for scene in project.script or []]
    if not 1 <= number <= len(scenes) or scenes[number - 1].pop("media", None) is None:
        return False
    project.script = scenes
    prune(project)
    audit.admin_action(actor, "project.media_remove", "project", project.id, project.user_id,
                       scene=number)
    db.session.flush()
    return True


def set_music(project: Project, upload: Upload, workdir: Path, actor: User) -> MediaFile:
    """Keep the upload as the project's music track, in place of the one it had; a project
    whose music was off (level 0) gets it at DEFAULT_MUSIC_LEVEL, as a track nobody hears
    is not what was asked for."""
    remove_music(project, actor, audited=False)
    media = _keep(project, MUSIC_KINDS, upload, workdir)
    if project.music_level == 0:
        project.music_level = DEFAULT_MUSIC_LEVEL
    audit.admin_action(actor, "project.music", "project", project.id, project.user_id)
    return media


def remove_music(project: Project, actor: User, audited: bool = True) -> bool:
    """Remove the project's music track; False when it had none."""
    music = music_of(project)
    if music is None:
        return False
    _delete(project, [music])
    if audited:
        audit.admin_action(actor, "project.music_remove", "project", project.id,
                           project.user_id)
    return True


def prune(project: Project) -> None:
    """Remove the pictures and clips no scene of the project names any more."""
    named = set(scene_media_ids(project.script))
    _delete(project, [m for m in media_of(project)
                      if m.kind in SCENE_KINDS and m.id not in named])


def script_problems(project: Project | None, script: list[dict] | None) -> list[dict]:
    """[{field, message}] for each scene naming media that is not a picture or clip of
    this project (a new project has none)."""
    if not script or not any(scene_media_ids(script)):
        return []
    known = {m.id for m in media_of(project) if m.kind in SCENE_KINDS} if project else set()
    return [{"field": f"script.{i}.media",
             "message": f"No picture or clip {media_id} in this project: upload one to the "
                        "scene, or leave media out."}
            for i, media_id in enumerate(scene_media_ids(script))
            if media_id is not None and media_id not in known]


def _delete(project: Project, rows: list[MediaFile]) -> None:
    for row in rows:
        db.session.delete(row)
    db.session.flush()
    pending.removed(db.session, [row.key for row in rows])


def _keep(project: Project, kinds: tuple[str, ...], upload: Upload, workdir: Path
          ) -> MediaFile:
    """Inspect the upload as one of `kinds`, store its kept form, add its row."""
    _check_rate(project.user_id)
    accepted = inspect(_kind_of(upload, kinds), upload.path, upload.name, limits(), workdir)
    size = accepted.path.stat().st_size
    _check_room(project.user_id, size)
    key = (f"{project_prefix(project.id)}media/{secrets.token_hex(8)}/"
           f"{NAMES[accepted.kind]}{accepted.format.extension}")
    get_store().put(key, accepted.path, accepted.format.content_type)
    pending.stored(db.session, key)
    media = MediaFile(project_id=project.id, user_id=project.user_id, kind=accepted.kind,
                      key=key, name=upload.name, content_type=accepted.format.content_type,
                      size=size, sha256=_sha256(accepted), width=accepted.width,
                      height=accepted.height, duration=accepted.duration)
    db.session.add(media)
    db.session.flush()
    return media


def _kind_of(upload: Upload, kinds: tuple[str, ...]) -> str:
    """The kind to inspect the upload as: what it is, if that is one of `kinds`."""
    found = sniff(upload.path)
    if found is None or found.kind in kinds:
        return found.kind if found else kinds[0]
    wanted = " or ".join(KINDS[kind] for kind in kinds)
    raise MediaRejected(f"The file is {found.label}, not a {wanted}.")


def _check_rate(user_id: int) -> None:
    """Refuse an upload past MEDIA_UPLOAD_RATE for its owner: each one costs a probe and a
    decode, so no one can keep the web processes busy with them."""
    rate = current_app.config["MEDIA_UPLOAD_RATE"]
    refusal = get_limits().hit(rate, "upload", str(user_id))
    if refusal is not None:
        raise QuotaExceeded("upload_rate", f"You are uploading too fast: at most {rate}. Try "
                            f"again in {refusal.retry_after} s.", refusal.retry_after)


def _check_room(user_id: int, size: int) -> None:
    """Refuse a file that would take the user past MEDIA_USER_BYTES in all (counted under
    their lock, so parallel uploads cannot pass it)."""
    lock_user(user_id)
    most = current_app.config["MEDIA_USER_BYTES"]
    used = db.session.scalar(select(func.coalesce(func.sum(MediaFile.size), 0))
                             .where(MediaFile.user_id == user_id)) or 0
    if used + size > most:
        raise QuotaExceeded("media_bytes", f"Your uploads take {used / 1048576:.0f} MB and may "
                            f"take at most {most / 1048576:.0f} MB in all: remove some to "
                            "make room.")


def _sha256(accepted: Accepted) -> str:
    digest = hashlib.sha256()
    with accepted.path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def rejected(exc: MediaRejected) -> ParamsError:
    """The 422 for a file that may not be kept, naming the file field."""
    return ParamsError([{"field": FIELD, "message": str(exc)}])
