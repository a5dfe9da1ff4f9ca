"""Stock pictures and clips for the scenes that have none of their own (a project's
`stock_provider`), found by render-scenes: each scene's terms (webapp/stock/terms.py) are
searched (cached by query), one item chosen per scene (never the same one twice in a video),
and its file kept once in the media store under stock/<provider>/<id>/, shared by every
project that uses it, after the same checks an upload gets (webapp/media/inspect.py).

A scene whose search finds nothing, or fails (rate limited, a timeout), stays a text scene
and the stage's result says why; a provider that cannot be used here fails the stage.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from webapp.media.inspect import MediaRejected, inspect
from webapp.media.uploads import limits
from webapp.models import Project
from webapp.render.storage import media_root
from webapp.stock import NoResults, StockError, StockItem, StockUnavailable, choose, scene_terms
from webapp.stock.app import download_stock, search_stock
from webapp.stock.items import orientation
from webapp.storage import get_store
from webapp.video.formats import VideoFormat
from webapp.video.script import Scene

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]")
UPLOAD_KIND = {"picture": "image", "clip": "clip"}


@dataclass(frozen=True)
class StockPick:
    """A stock file kept for a scene, shaped like an upload where the stages read one
    (kind "image" or "clip", key, duration, sha256), with its credit."""

    kind: str
    key: str
    sha256: str
    duration: float | None
    credit: dict


class StockStageError(Exception):
    """The project's stock provider cannot be used here (no key on this machine)."""


def pick_for_scenes(project: Project, scenes: list[Scene], taken: list[bool],
                    seconds: list[float], fmt: VideoFormat
                    ) -> tuple[list[StockPick | None], list[str]]:
    """A pick for each scene that is not `taken` (has media of its own), and notes on the
    scenes that stay text. StockStageError when the provider cannot be used here."""
    picks: list[StockPick | None] = [None] * len(scenes)
    notes, used = [], set()
    if not project.stock_provider:
        return picks, notes
    for index, scene in enumerate(scenes):
        if taken[index]:
            continue
        try:
            item = _find(project, scene, seconds[index], fmt, used)
            picks[index] = _kept(item, index + 1)
            used.add(item.key)
        except StockUnavailable as exc:
            raise StockStageError(str(exc)) from None
        except (StockError, MediaRejected) as exc:
            notes.append(f"scene {index + 1}: {exc}")
    return picks, notes


def _find(project: Project, scene: Scene, seconds: float, fmt: VideoFormat,
          used: set[str]) -> StockItem:
    terms = scene_terms(scene.heading, scene.narration)
    if not terms:
        raise NoResults("nothing in its heading or narration to search for")
    items = search_stock(project.stock_provider, terms, kind=project.stock_kind,
                         orientation=orientation(fmt.width, fmt.height))
    item = choose(items, fmt.width, fmt.height, seconds, used)
    if item is None:
        raise NoResults(f"no {project.stock_kind} for “{terms}” fits this format")
    return item


def _kept(item: StockItem, scene: int) -> StockPick:
    """The item's file in the store (downloaded and checked the first time)."""
    kind = UPLOAD_KIND[item.kind]
    folder = f"stock/{item.provider}/{_SAFE_ID.sub('_', item.id)[:64]}/"
    store = get_store()
    found = next(iter(store.list(folder)), None)
    if found is None:
        found_key = _store(item, kind, folder)
        found = store.stat(found_key)
    sha = hashlib.sha256(f"{found.key}:{found.etag}".encode()).hexdigest()
    credit = {"scene": scene, "provider": item.provider, "author": item.author,
              "page_url": item.page_url if item.page_url.startswith("https://") else None}
    return StockPick(kind, found.key, sha, item.duration, credit)


def _store(item: StockItem, kind: str, folder: str) -> str:
    parent = media_root() / ".uploads"
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as work:
        path = download_stock(item, Path(work) / "download", limits().bytes_for(kind))
        accepted = inspect(kind, path, None, limits(), Path(work))
        key = f"{folder}{'picture' if kind == 'image' else 'clip'}{accepted.format.extension}"
        get_store().put(key, accepted.path, accepted.format.content_type)
    log.info("Kept stock %s %s as %s", item.kind, item.key, key)
    return key
