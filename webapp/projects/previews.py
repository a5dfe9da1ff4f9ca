"""Scene previews for the scene editor: each scene's still (or its uploaded picture, panned
halfway, or its clip's first frame) with a caption sample, drawn on request (about 20 ms at
the preview's size for a still) and named by a tag of everything it shows, so a browser
keeps one until something it shows changes (webapp/video/preview.py)."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from pathlib import Path

from webapp.models import MediaFile, Project
from webapp.render import scene_media
from webapp.video.captions import Captions
from webapp.video.formats import FORMATS
from webapp.video.preview import clip_preview, picture_preview, scene_preview
from webapp.video.script import Scene
from webapp.video.themes import theme_of

VERSION = 2  # raise when the drawing changes: every tag changes with it


def _scenes(project: Project) -> list[Scene]:
    return [Scene(s["heading"], s["narration"]) for s in project.script or []]


def _inputs(project: Project, number: int, scene: Scene, total: int,
            upload: MediaFile | None) -> dict:
    return {"v": VERSION, "media": scene_media.identity(upload), "title": project.title,
            "scene": [scene.heading, scene.narration],
            "number": number, "total": total, "format": project.format,
            "theme": project.theme, "captions": project.captions,
            "burn": project.burn_subtitles}


def preview_tags(project: Project) -> list[str]:
    """The tag of each scene's preview as it would be drawn now, in scene order."""
    scenes, uploads = _scenes(project), scene_media.scene_uploads(project)
    return [_tag(_inputs(project, number, scene, len(scenes), upload))
            for number, (scene, upload) in enumerate(zip(scenes, uploads, strict=True), 1)]


def preview_tag(project: Project, number: int) -> str:
    """The tag of scene `number` (1-based) as it would be previewed now; "" for none."""
    scenes = _scenes(project)
    if not 1 <= number <= len(scenes):
        return ""
    upload = scene_media.scene_uploads(project)[number - 1]
    return _tag(_inputs(project, number, scenes[number - 1], len(scenes), upload))


def _tag(inputs: dict) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def preview_png(project: Project, number: int) -> bytes | None:
    """Scene `number`'s preview as PNG bytes; None when the project has no such scene."""
    scenes = _scenes(project)
    if not 1 <= number <= len(scenes):
        return None
    upload = scene_media.scene_uploads(project)[number - 1]
    where = {"index": number, "total": len(scenes), "title": project.title,
             "fmt": FORMATS[project.format], "theme": theme_of(project.theme),
             "captions": Captions.of(project.captions) if project.burn_subtitles else None}
    if upload is None:
        image = scene_preview(scenes[number - 1], **where)
    else:
        draw = picture_preview if upload.kind == "image" else clip_preview
        with tempfile.TemporaryDirectory() as folder, \
                scene_media.local_file(upload, Path(folder)) as path:
            image = draw(path, scenes[number - 1], **where)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
