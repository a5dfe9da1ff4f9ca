"""Pexels: GET /v1/search (photos) and GET /videos/search, the key in `Authorization`.

A photo's `src` offers fixed sizes of the original: `large2x` fits 1880 x 1300 (940 x 650 at
twice the density), so it is the ~1920 px picture for landscape photos; a portrait or square
photo is only 1300 px tall there, so the original is taken instead. A video lists its
`video_files`: the MP4 closest to 1280 px on its long side, not below it, is taken (HLS
entries have no size and are skipped).
"""

from __future__ import annotations

from typing import Any

from webapp.stock.api import ApiRequest
from webapp.stock.items import Rendition, StockItem, fit, pick
from webapp.stock.settings import StockSettings

PER_PAGE_MAX = 80
LARGE2X_BOX = (1880, 1300)
PICTURE_LONG_SIDE = 1800  # a "~1920 px" picture
CLIP_LONG_SIDE = 1280


def request(settings: StockSettings, query: str, kind: str, orientation: str,
            limit: int) -> ApiRequest:
    """The search request for `limit` pictures or clips of that orientation."""
    path = "/v1/search" if kind == "picture" else "/videos/search"
    params = {"query": query, "orientation": orientation,
              "per_page": max(1, min(limit, PER_PAGE_MAX))}
    return ApiRequest("pexels", settings.base_url("pexels") + path, params,
                      {"Authorization": settings.key("pexels") or ""})


def parse(data: dict[str, Any], kind: str, orientation: str) -> list[StockItem]:
    """The items of a search answer (entries without a usable file are skipped)."""
    entries = data.get("photos" if kind == "picture" else "videos") or []
    parse_one = _photo if kind == "picture" else _video
    return [item for entry in entries if (item := parse_one(entry)) is not None]


def _photo(photo: dict[str, Any]) -> StockItem | None:
    src = photo.get("src") or {}
    width, height = int(photo.get("width") or 0), int(photo.get("height") or 0)
    if not (width and height):
        return None
    renditions = [Rendition(width, height, src.get("original") or "")]
    if src.get("large2x"):
        renditions.append(Rendition(*fit(width, height, *LARGE2X_BOX), src["large2x"]))
    best = pick(renditions, PICTURE_LONG_SIDE)
    if best is None:
        return None
    return StockItem("pexels", str(photo["id"]), "picture", best.width, best.height, best.url,
                     author=photo.get("photographer") or "Unknown",
                     author_url=photo.get("photographer_url") or None,
                     page_url=photo.get("url") or "", description=photo.get("alt") or None)


def _video(video: dict[str, Any]) -> StockItem | None:
    renditions = [Rendition(int(f.get("width") or 0), int(f.get("height") or 0),
                            f.get("link") or "")
                  for f in video.get("video_files") or []
                  if f.get("file_type") == "video/mp4"]
    best = pick(renditions, CLIP_LONG_SIDE)
    if best is None:
        return None
    user = video.get("user") or {}
    return StockItem("pexels", str(video["id"]), "clip", best.width, best.height, best.url,
                     author=user.get("name") or "Unknown", author_url=user.get("url") or None,
                     page_url=video.get("url") or "",
                     duration=float(video.get("duration") or 0))
