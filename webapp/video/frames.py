"""Still frames for scenes and the title card, drawn with Pillow in the theme's colours."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from webapp.video.formats import VideoFormat, bleed_size
from webapp.video.script import Scene
from webapp.video.textfit import TextBlock, fit_line, fit_text, load_font
from webapp.video.themes import FONTS, Theme, parse_colour

# Burned subtitles sit in the bottom quarter, so nothing important is drawn there.
SUBTITLE_ZONE = 0.25


@dataclass(frozen=True)
class _Layout:
    """Pixel measures derived from the frame size, so every format keeps its proportions."""

    width: int
    height: int
    unit: int  # the shorter side: sizes scale with it so portrait text is not tiny
    margin: int
    safe_bottom: int  # the top of the subtitle zone

    @classmethod
    def of(cls, fmt: VideoFormat) -> _Layout:
        """The layout for a format."""
        unit = min(fmt.width, fmt.height)
        safe_bottom = round(fmt.height * (1 - SUBTITLE_ZONE))
        return cls(fmt.width, fmt.height, unit, round(unit * 0.075), safe_bottom)

    @property
    def text_width(self) -> int:
        """The width between the side margins."""
        return self.width - 2 * self.margin

    @property
    def bar(self) -> tuple[int, int]:
        """Width and thickness of the accent bar."""
        return round(self.unit * 0.1), max(4, round(self.unit * 0.012))

    def size(self, fraction: float) -> int:
        """A font size as a fraction of the shorter side."""
        return round(self.unit * fraction)


def render_scene(
    scene: Scene, *, index: int, total: int, title: str, fmt: VideoFormat, theme: Theme,
    bleed: bool = False,
) -> Image.Image:
    """Draw scene `index` of `total` (1-based): its heading, an accent bar, the title, n/total.

    With `bleed`, the background reaches past the frame on every side (formats.bleed_size),
    the rest laid out for the frame and centred on it: the room the video's moving window
    needs (webapp/video/filtergraph.py)."""
    if not 1 <= index <= total:
        raise ValueError(f"Scene index is 1-based and at most total: got {index} of {total}")
    layout, image, overlay, draw = _canvas(fmt, theme, bleed)
    header_bottom = _draw_header(draw, layout, theme, title, f"{index} / {total}")
    _draw_progress(draw, layout, theme, index / total)
    # The heading block (bar, gap, text) is centred between the header and the subtitle zone.
    top, bottom = header_bottom + layout.margin, layout.safe_bottom - layout.margin // 2
    bar_width, bar_height = layout.bar
    block = fit_text(
        scene.heading,
        FONTS[theme.font].bold,
        box=(layout.text_width, bottom - top - 2 * bar_height),
        # Portrait frames have height to spare, so short headings may start larger.
        start=layout.size(0.13 if layout.height > layout.width else 0.1),
        minimum=layout.size(0.035),
    )
    y = top + (bottom - top - block.height - 2 * bar_height) // 2
    x = layout.margin
    draw.rectangle((x, y, x + bar_width - 1, y + bar_height - 1), fill=_rgba(theme.accent))
    _draw_block(draw, block, (x, y + 2 * bar_height), _rgba(theme.text), centred=False)
    return _flatten(image, overlay)


def render_title_card(
    title: str, *, subtitle: str | None, fmt: VideoFormat, theme: Theme
) -> Image.Image:
    """Draw the opening card (also the thumbnail): centred title, accent bar, subtitle."""
    layout, image, overlay, draw = _canvas(fmt, theme)
    font = FONTS[theme.font]
    space = layout.safe_bottom - 2 * layout.margin
    bar_width, bar_height = layout.bar
    sub = None
    if subtitle and subtitle.strip():
        box = (layout.text_width, space // 4)
        sub = fit_text(
            subtitle, font.regular, box=box, start=layout.size(0.045), minimum=layout.size(0.025)
        )
    # Title, gap, bar, two gaps, subtitle: a gap is one bar thickness.
    below = 3 * bar_height + (sub.height if sub else 0)
    box = (layout.text_width, space - below)
    main = fit_text(title, font.bold, box=box, start=layout.size(0.12), minimum=layout.size(0.04))
    y = layout.margin + (space - main.height - below) // 2
    centre = layout.width // 2
    _draw_block(draw, main, (centre, y), _rgba(theme.text), centred=True)
    y += main.height + bar_height
    left = centre - bar_width // 2
    draw.rectangle((left, y, left + bar_width - 1, y + bar_height - 1), fill=_rgba(theme.accent))
    if sub:
        _draw_block(draw, sub, (centre, y + 3 * bar_height), _rgba(theme.text, 200), centred=True)
    return _flatten(image, overlay)


def save_png(image: Image.Image, path: Path) -> None:
    """Write a PNG via a temporary name in the same folder, so a partial file is never seen."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        image.save(partial, format="PNG")
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _canvas(
    fmt: VideoFormat, theme: Theme, bleed: bool = False
) -> tuple[_Layout, Image.Image, Image.Image, ImageDraw.ImageDraw]:
    """The layout, the gradient (past the frame with `bleed`), and a transparent overlay of
    the frame's size to draw (and blend) text on."""
    size = bleed_size(fmt.width, fmt.height) if bleed else (fmt.width, fmt.height)
    image = _background(size, theme)
    overlay = Image.new("RGBA", (fmt.width, fmt.height), (0, 0, 0, 0))
    return _Layout.of(fmt), image, overlay, ImageDraw.Draw(overlay)


def _flatten(image: Image.Image, overlay: Image.Image) -> Image.Image:
    """The overlay blended onto the middle of the background, as RGB."""
    offset = ((image.width - overlay.width) // 2, (image.height - overlay.height) // 2)
    image.alpha_composite(overlay, dest=offset)
    return image.convert("RGB")


def _background(size: tuple[int, int], theme: Theme) -> Image.Image:
    """A vertical gradient from background (top) to background_end (bottom)."""
    top = Image.new("RGB", size, parse_colour(theme.background))
    bottom = Image.new("RGB", size, parse_colour(theme.background_end))
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(bottom, top, mask).convert("RGBA")


def _draw_header(
    draw: ImageDraw.ImageDraw, layout: _Layout, theme: Theme, title: str, counter: str
) -> int:
    """Title top-left, counter top-right; returns the y just below them."""
    font = load_font(FONTS[theme.font].regular, max(12, layout.size(0.032)))
    y = layout.margin
    right = layout.width - layout.margin
    counter_width = round(font.getlength(counter))
    draw.text((right, y), counter, font=font, fill=_rgba(theme.accent), anchor="ra")
    room = right - layout.margin - counter_width - layout.margin // 2
    draw.text(
        (layout.margin, y),
        fit_line(title, font, room),
        font=font,
        fill=_rgba(theme.text, 190),
        anchor="la",
    )
    ascent, descent = font.getmetrics()
    return y + ascent + descent


def _draw_progress(
    draw: ImageDraw.ImageDraw, layout: _Layout, theme: Theme, fraction: float
) -> None:
    """A thin track across the top, between the margins (so that it stays whole in the
    moving window), filled in the accent colour up to this scene."""
    thickness = max(3, round(layout.unit * 0.006))
    left, right, top = layout.margin, layout.width - layout.margin, layout.margin // 2
    bottom = top + thickness - 1
    draw.rectangle((left, top, right - 1, bottom), fill=_rgba(theme.text, 40))
    draw.rectangle((left, top, left + round((right - left) * fraction) - 1, bottom),
                   fill=_rgba(theme.accent))


def _draw_block(
    draw: ImageDraw.ImageDraw,
    block: TextBlock,
    origin: tuple[int, int],
    fill: tuple[int, int, int, int],
    *,
    centred: bool,
) -> None:
    """Draw the lines of a block from origin: its top-left, or its top-centre if centred."""
    x, y = origin
    anchor = "ma" if centred else "la"
    for i, line in enumerate(block.lines):
        draw.text((x, y + i * block.pitch), line, font=block.font, fill=fill, anchor=anchor)


def _rgba(colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    return (*parse_colour(colour), alpha)
