"""Colour themes and the vendored DejaVu fonts that frames and burned subtitles share."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# webapp/video/themes.py -> the repository root, without importing the app's config.
ROOT = Path(__file__).resolve().parents[2]
FONTS_DIR = ROOT / "static" / "fonts"

_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
# The colours a theme sets, each of which a project may replace with its own.
COLOUR_SLOTS = ("background", "background_end", "text", "accent")


@dataclass(frozen=True)
class FontChoice:
    """A font family offered to users: its files for Pillow and its name for libass."""

    key: str
    label: str
    regular: Path
    bold: Path
    family: str


FONTS: dict[str, FontChoice] = {
    "sans": FontChoice(
        "sans",
        "Sans (DejaVu Sans)",
        FONTS_DIR / "DejaVuSans.ttf",
        FONTS_DIR / "DejaVuSans-Bold.ttf",
        "DejaVu Sans",
    ),
    "serif": FontChoice(
        "serif",
        "Serif (DejaVu Serif)",
        FONTS_DIR / "DejaVuSerif.ttf",
        FONTS_DIR / "DejaVuSerif-Bold.ttf",
        "DejaVu Serif",
    ),
    "mono": FontChoice(
        "mono",
        "Monospace (DejaVu Sans Mono)",
        FONTS_DIR / "DejaVuSansMono.ttf",
        FONTS_DIR / "DejaVuSansMono-Bold.ttf",
        "DejaVu Sans Mono",
    ),
}


@dataclass(frozen=True)
class Theme:
    """Frame colours ("#rrggbb"): a vertical gradient, text, an accent; and a FONTS key."""

    background: str
    background_end: str
    text: str
    accent: str
    font: str

    def colours(self) -> dict[str, str]:
        """{slot: "#rrggbb"} for each of COLOUR_SLOTS."""
        return {slot: getattr(self, slot) for slot in COLOUR_SLOTS}


THEMES: dict[str, Theme] = {
    "midnight": Theme("#0f172a", "#1e1b4b", "#f8fafc", "#38bdf8", "sans"),
    "paper": Theme("#fbf8f1", "#ebe3d3", "#1f2933", "#b45309", "serif"),
    "sunset": Theme("#2a1040", "#9a3412", "#fff7ed", "#fbbf24", "sans"),
    "forest": Theme("#052e16", "#14532d", "#ecfdf5", "#a3e635", "serif"),
    "terminal": Theme("#0a0f0d", "#111827", "#d1fae5", "#22c55e", "mono"),
}
DEFAULT_THEME = "midnight"


def theme_of(saved: Mapping[str, Any] | None) -> Theme:
    """The theme a project saved ({} or some slots: the default preset fills the rest)."""
    values = {k: v for k, v in (saved or {}).items() if k in Theme.__dataclass_fields__}
    return Theme(**{**asdict(THEMES[DEFAULT_THEME]), **values})


def parse_colour(value: str) -> tuple[int, int, int]:
    """Parse "#rgb" or "#rrggbb" into an (r, g, b) tuple of 0-255 ints."""
    if not isinstance(value, str) or not _HEX.fullmatch(value.strip()):
        raise ValueError(f"A colour must look like #rgb or #rrggbb, got {value!r}")
    digits = value.strip()[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
