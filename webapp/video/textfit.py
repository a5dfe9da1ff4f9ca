"""Wrapping text to a box and shrinking the font until it fits, for Pillow frames."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

LINE_SPACING = 1.18  # line pitch as a multiple of the font size
ELLIPSIS = "…"
MAX_CHARS = 1000


@dataclass(frozen=True)
class TextBlock:
    """Lines of wrapped text at one font size, and the size of their box in pixels."""

    font: ImageFont.FreeTypeFont
    lines: list[str]
    width: int
    height: int

    @property
    def pitch(self) -> int:
        """Distance between the tops of consecutive lines."""
        return round(self.font.size * LINE_SPACING)


@lru_cache(maxsize=64)
def load_font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """A font file at a pixel size (cached: every frame of a render reuses a few)."""
    return ImageFont.truetype(str(path), size)


def fit_text(
    text: str, font_path: Path, *, box: tuple[int, int], start: int, minimum: int
) -> TextBlock:
    """Wrap text into box (width, height), shrinking from start to minimum size to fit.

    At the minimum size, lines that still do not fit are cut and the last ends with "…",
    so the block never leaves the box.
    """
    width, height = box
    if len(text) > MAX_CHARS:  # more could never fit at a legible size; bounds the work
        text = text[:MAX_CHARS] + ELLIPSIS
    size = start
    while True:
        block = _wrap_block(text, load_font(font_path, size), width)
        if block.height <= height or size <= minimum:
            break
        size = max(minimum, int(size * 0.92))
    if block.height > height:
        block = _truncate(block, width, height)
    return block


def fit_line(text: str, font: ImageFont.FreeTypeFont, width: int) -> str:
    """The text cut with "…" so that one line of it fits in width pixels."""
    if font.getlength(text) <= width:
        return text
    text = text[: _longest_prefix(text, font, width, ELLIPSIS)].rstrip()
    return text + ELLIPSIS if text else ""


def _longest_prefix(text: str, font: ImageFont.FreeTypeFont, width: int, suffix: str = "") -> int:
    """The largest n such that text[:n] + suffix fits in width (binary search)."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(text[:middle] + suffix) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _wrap_block(text: str, font: ImageFont.FreeTypeFont, width: int) -> TextBlock:
    lines = wrap(text, font, width)
    return _block(font, lines)


def _block(font: ImageFont.FreeTypeFont, lines: list[str]) -> TextBlock:
    ascent, descent = font.getmetrics()
    pitch = round(font.size * LINE_SPACING)
    widest = max((round(font.getlength(line)) for line in lines), default=0)
    height = (len(lines) - 1) * pitch + ascent + descent if lines else 0
    return TextBlock(font, lines, widest, height)


def wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Greedy word wrap to width pixels; a word longer than a line is broken by characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        pieces = _break_word(word, font, width)
        lines.extend(pieces[:-1])
        current = pieces[-1]
    if current:
        lines.append(current)
    return lines


def _break_word(word: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    pieces = []
    while font.getlength(word) > width and len(word) > 1:
        cut = max(1, _longest_prefix(word, font, width))  # at least one character per line
        pieces.append(word[:cut])
        word = word[cut:]
    return [*pieces, word]


def _truncate(block: TextBlock, width: int, height: int) -> TextBlock:
    ascent, descent = block.font.getmetrics()
    fits = max(1, (height - ascent - descent) // block.pitch + 1)
    lines = block.lines[:fits]
    lines[-1] = fit_line(lines[-1] + ELLIPSIS, block.font, width)
    return _block(block.font, lines)
