"""Pixabay: GET /api/?key=&q=&image_type=photo and GET /api/videos/?key=&q=.

A hit's pictures: `webformatURL` (640 px), `largeImageURL` (1280 px) and, with full API
access only, `fullHDURL` (1920 px) and `imageURL` (the original); the smallest of at least
~1920 px is taken, else the largest. A clip offers `videos.large/medium/small/tiny`; the one
closest to 1280 px, not below it, is taken. The video search has no orientation parameter,
so clips of the opposite orientation are dropped here. Pixabay asks that answers be cached
for 24 hours, which the cache does.
"""

from __future__ import annotations

from typing import Any

from webapp.stock.api import ApiRequest
from webapp.stock.items import Rendition, StockItem, fit, orientation, pick
from webapp.stock.pexels import CLIP_LONG_SIDE, PICTURE_LONG_SIDE
from webapp.stock.settings import StockSettings

PER_PAGE = (3, 200)  # Pixabay refuses per_page outside this
QUERY_CHARS = 100  # the longest q it takes
ORIENTATIONS = {"landscape": "horizontal", "portrait": "vertical", "square": "all"}
OPPOSITE = {"landscape": "portrait", "portrait": "landscape"}
PICTURE_SIZES = (("webformatURL", 640), ("largeImageURL", 1280), ("fullHDURL", 1920))


def request(settings: StockSettings, query: str, kind: str, orientation: str,
            limit: int) -> ApiRequest:
    """The search request for `limit` photos or films (safe search on)."""
    params: dict[str, Any] = {"key": settings.key("pixabay") or "", "q": query[:QUERY_CHARS],
                              "per_page": max(PER_PAGE[0], min(limit, PER_PAGE[1])),
                              "safesearch": "true"}
    if kind == "picture":
        params.update(image_type="photo", orientation=ORIENTATIONS[orientation])
        return ApiRequest("pixabay", settings.base_url("pixabay") + "/", params)
    return ApiRequest("pixabay", settings.base_url("pixabay") + "/videos/", params)


def parse(data: dict[str, Any], kind: str, wanted: str) -> list[StockItem]:
    """The items of a search answer (entries without a usable file are skipped)."""
    parse_one = _photo if kind == "picture" else _video
    items = [item for hit in data.get("hits") or [] if (item := parse_one(hit)) is not None]
    if kind == "clip" and wanted in OPPOSITE:
        items = [i for i in items if orientation(i.width, i.height) != OPPOSITE[wanted]]
    return items


def _photo(hit: dict[str, Any]) -> StockItem | None:
    width, height = int(hit.get("imageWidth") or 0), int(hit.get("imageHeight") or 0)
    if not (width and height):
        return None
    renditions = [Rendition(*fit(width, height, side, side), hit.get(name) or "")
                  for name, side in PICTURE_SIZES]
    renditions.append(Rendition(width, height, hit.get("imageURL") or ""))
    best = pick(renditions, PICTURE_LONG_SIDE)
    return None if best is None else _item(hit, "picture", best)


def _video(hit: dict[str, Any]) -> StockItem | None:
    files = hit.get("videos") or {}
    renditions = [Rendition(int(f.get("width") or 0), int(f.get("height") or 0),
                            f.get("url") or "")
                  for f in (files.get(size) or {} for size in ("large", "medium", "small",
                                                               "tiny"))]
    best = pick(renditions, CLIP_LONG_SIDE)
    if best is None:
        return None
    return _item(hit, "clip", best, duration=float(hit.get("duration") or 0))


def _item(hit: dict[str, Any], kind: str, best: Rendition,
          duration: float | None = None) -> StockItem:
    user = hit.get("user") or "Unknown"
    user_id = hit.get("user_id")
    return StockItem("pixabay", str(hit["id"]), kind, best.width, best.height, best.url,
                     author=user, page_url=hit.get("pageURL") or "",
                     author_url=f"https://pixabay.com/users/{user}-{user_id}/" if user_id
                     else None,
                     duration=duration, description=hit.get("tags") or None)
