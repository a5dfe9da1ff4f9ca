"""Choosing one search result for a scene of a video."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from webapp.stock.items import StockItem, orientation

# Covering the frame may enlarge an item this much and it still counts as large enough
# (Pexels' large2x of a 16:9 photo is 1880 x 1057, for a 1920 x 1080 video).
UPSCALE_TOLERANCE = 1.05
OPPOSITE = {"landscape": "portrait", "portrait": "landscape"}


def choose(items: Sequence[StockItem], fmt_width: int, fmt_height: int,
           scene_seconds: float, used_ids: Collection[str] = ()) -> StockItem | None:
    """The best item for a scene of a fmt_width x fmt_height video lasting scene_seconds,
    or None when every item is used or of the opposite orientation.

    `used_ids` holds the `item.key` ("provider:id") of items other scenes of the video
    already show; none of them is chosen again. Of the rest, preferred in turn: the video's
    orientation (a square item in a landscape video comes after landscape ones), large
    enough to cover the frame (short side at least the video's, 5 % leeway; else the
    largest), for a clip one lasting the scene (the shortest of those, else the longest),
    and then the provider's own order (relevance).
    """
    wanted = orientation(fmt_width, fmt_height)
    candidates = [(position, item) for position, item in enumerate(items)
                  if item.key not in used_ids
                  and orientation(item.width, item.height) != OPPOSITE.get(wanted)]
    if not candidates:
        return None

    def rank(entry: tuple[int, StockItem]) -> tuple:
        position, item = entry
        small = not large_enough(item, fmt_width, fmt_height)
        return (orientation(item.width, item.height) != wanted, small,
                -min(item.width, item.height) if small else 0,
                *_duration_rank(item, scene_seconds), position)

    return min(candidates, key=rank)[1]


def large_enough(item: StockItem, fmt_width: int, fmt_height: int) -> bool:
    """Whether the item covers the frame enlarged by at most UPSCALE_TOLERANCE."""
    cover = max(fmt_width / item.width, fmt_height / item.height)
    return cover <= UPSCALE_TOLERANCE


def _duration_rank(item: StockItem, scene_seconds: float) -> tuple[bool, float]:
    """(too short, how far from the scene's length): pictures all rank alike."""
    if item.duration is None:
        return False, 0.0
    return item.duration < scene_seconds, abs(item.duration - scene_seconds)
