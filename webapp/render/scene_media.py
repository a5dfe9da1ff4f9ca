"""The uploads a render uses: each scene's picture or clip and the project's music track,
named in the stages' input hashes by their content (sha256) and fetched to this machine
for the stage that reads them (webapp/render/storage.py `fetched`: the stored file itself
with local storage, else a link into this machine's cache)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from webapp.media import service as media
from webapp.models import MediaFile, Project
from webapp.render import storage


def scene_uploads(project: Project) -> list[MediaFile | None]:
    """Each scene's picture or clip, in scene order (None for a text scene)."""
    files = media.by_id(project)
    found = [files.get(media_id) if media_id else None
             for media_id in media.scene_media_ids(project.script)]
    return [f if f is not None and f.kind in media.SCENE_KINDS else None for f in found]


def music_track(project: Project) -> MediaFile | None:
    """The project's own music track, when its music is on (a level above 0)."""
    return media.music_of(project) if project.music_level > 0 else None


def identity(upload: MediaFile | None) -> list[str] | None:
    """What a stage's input hash knows of an upload: its kind and content."""
    return None if upload is None else [upload.kind, upload.sha256]


@contextlib.contextmanager
def local_file(upload: MediaFile, into: Path) -> Iterator[Path]:
    """The upload as a file on this machine while the block runs (`into`: the stage's
    scratch folder, where a remote store's file is linked from the cache)."""
    with local_key(upload.key, into) as path:
        yield path


@contextlib.contextmanager
def local_key(key: str, into: Path) -> Iterator[Path]:
    """A stored file named by its key (as a stage's manifest records it), on this machine
    while the block runs."""
    folder_key, name = key.rsplit("/", 1)
    with storage.fetched(folder_key, [name], into) as folder:
        yield folder / name
