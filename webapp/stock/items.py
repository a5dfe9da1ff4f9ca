"""What a search finds: a StockItem per picture or clip, and the errors of this library."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


class StockError(Exception):
    """A search or download failed; the message is for the person making the video (a
    refused key, rate limiting, a timeout, nothing found, a file refused)."""


class StockUnavailable(StockError):
    """The provider cannot be used here; the message names the setting to set."""


class NoResults(StockError):
    """The search worked and found nothing (cached like any other answer)."""


@dataclass(frozen=True)
class StockItem:
    """One picture or clip: `url` is the rendition to download and `width`/`height` are
    that rendition's; `author`, `author_url` and `page_url` are kept for attribution."""

    provider: str
    id: str
    kind: str  # "picture" or "clip"
    width: int
    height: int
    url: str
    author: str
    page_url: str
    author_url: str | None = None
    duration: float | None = None  # clips only, in seconds
    description: str | None = None

    @property
    def key(self) -> str:
        """"provider:id": unique across providers (what choose() takes as used ids)."""
        return f"{self.provider}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StockItem:
        return cls(**data)


@dataclass(frozen=True)
class Rendition:
    """One size a provider offers of the same picture or clip."""

    width: int
    height: int
    url: str

    @property
    def long_side(self) -> int:
        return max(self.width, self.height)


def pick(renditions: list[Rendition], at_least: int) -> Rendition | None:
    """The smallest rendition whose long side is at least `at_least`, else the largest."""
    usable = [r for r in renditions if r.url and r.width > 0 and r.height > 0]
    if not usable:
        return None
    big_enough = [r for r in usable if r.long_side >= at_least]
    if big_enough:
        return min(big_enough, key=lambda r: r.long_side)
    return max(usable, key=lambda r: r.long_side)


def fit(width: int, height: int, box_width: int, box_height: int) -> tuple[int, int]:
    """width x height scaled down (never up) to fit inside the box, aspect kept."""
    scale = min(1.0, box_width / width, box_height / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def orientation(width: int, height: int) -> str:
    """landscape, portrait or square (within 10 %)."""
    ratio = width / height
    if ratio > 1.1:
        return "landscape"
    if ratio < 1 / 1.1:
        return "portrait"
    return "square"
