"""How captions look: a style, a position and a size, and the word timings that the
"current word highlighted" style and the word-timed subtitle tracks use.

Word timings are spread over each sentence's cue by the length of its words (a word of
eight letters takes about twice as long to say as one of four); the cue itself is exact,
timed from the sentence's own samples (webapp/video/audio.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

STYLES = {"plain": "Plain", "outline": "Bold outline", "box": "Box",
          "highlight": "Current word highlighted"}
POSITIONS = {"bottom": "Bottom", "middle": "Middle", "top": "Top"}
# Font size as a fraction of the frame's shorter side.
SIZES = {"small": 0.035, "medium": 0.045, "large": 0.06}
SIZE_LABELS = {"small": "Small", "medium": "Medium", "large": "Large"}
# ASS alignment (numpad layout): bottom, middle and top centre.
ALIGNMENT = {"bottom": 2, "middle": 5, "top": 8}
# Where short-form apps draw their own buttons and text over a 9:16 video: captions stay out
# of the bottom 20 %, the top 12 % and 8 % of each side.
PORTRAIT_SAFE = {"bottom": 0.20, "top": 0.12, "side": 0.08}
LANDSCAPE_SAFE = {"bottom": 0.05, "top": 0.05, "side": 0.07}


@dataclass(frozen=True)
class Captions:
    """A project's caption settings; the defaults are the look renders had before."""

    style: str = "outline"
    position: str = "bottom"
    size: str = "medium"

    @classmethod
    def of(cls, value: Mapping[str, Any] | None) -> Captions:
        """The settings saved on a project (unknown or missing values: the defaults)."""
        value = value or {}
        default = cls()
        return cls(
            style=value.get("style") if value.get("style") in STYLES else default.style,
            position=(value.get("position") if value.get("position") in POSITIONS
                      else default.position),
            size=value.get("size") if value.get("size") in SIZES else default.size)

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def words(self) -> bool:
        """Whether the words are timed (highlighted as spoken, and in the subtitle tracks)."""
        return self.style == "highlight"

    def font_size(self, width: int, height: int) -> int:
        return max(18, round(min(width, height) * SIZES[self.size]))

    def margins(self, width: int, height: int) -> tuple[int, int]:
        """(side, vertical) margins in pixels: inside the 9:16 safe area for portrait."""
        safe = PORTRAIT_SAFE if height > width else LANDSCAPE_SAFE
        vertical = safe["top"] if self.position == "top" else safe["bottom"]
        return round(width * safe["side"]), round(height * vertical)


def word_times(start: float, end: float, text: str) -> list[tuple[float, float, str]]:
    """(start, end, word) of each word of a cue's text, the cue's time shared by length."""
    words = text.split()
    if not words:
        return []
    weights = [len(word) + 1 for word in words]  # the +1: the gap after each word
    total, spent, out = sum(weights), 0, []
    for word, weight in zip(words, weights, strict=True):
        begin = start + (end - start) * spent / total
        spent += weight
        out.append((begin, start + (end - start) * spent / total, word))
    return out
