"""What a scene with an uploaded picture or clip is drawn from, with Pillow: the picture
cover-cropped to the frame, and the RGBA overlay the video draws over the moving picture or
the playing clip (a scrim, the heading, the title and n / total, laid out as frames.py lays
out the text scenes, the caption zone at the bottom kept clear).

The overlay stays still while the picture under it pans and zooms (motion.py), so the text
never shimmers, drifts out of the frame or zooms with the picture.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageOps

from webapp.video.formats import VideoFormat
from webapp.video.frames import _draw_block, _draw_header, _draw_progress, _Layout, _rgba
from webapp.video.motion import picture_size, window
from webapp.video.script import Scene
from webapp.video.textfit import fit_text
from webapp.video.themes import FONTS, Theme, parse_colour

# How dark (0-255) a picture scene's scrim is on its left, where the heading starts, and on
# its right; it fades out below the heading (see _picture_alpha).
PICTURE_SCRIM = (170, 80)
# A clip scene's band: the top CLIP_BAND of the frame darkens from CLIP_SCRIM to clear.
CLIP_BAND, CLIP_SCRIM = 0.42, 200


@dataclass(frozen=True)
class PictureStill:
    """A picture scene: the picture cover-cropped to the frame (RGB) and its overlay (RGBA)."""

    background: Image.Image
    overlay: Image.Image

    def flattened(self, fraction: float = 0.0, move: int = 0) -> Image.Image:
        """The scene as the video shows it `fraction` (0-1) of the way through, when it
        moves by motion.MOVES[move] (the scene's 0-based place in the video): RGB, at the
        overlay's size."""
        left, top, size = window(move, fraction)
        w, h = self.background.size
        box = (left * w, top * h, (left + size) * w, (top + size) * h)
        picture = self.background.resize(self.overlay.size, Image.Resampling.BILINEAR, box)
        return Image.alpha_composite(picture.convert("RGBA"), self.overlay).convert("RGB")


def save_jpeg(image: Image.Image, path: Path) -> None:
    """Write a picture scene's background as a JPEG via a temporary name (a PNG of a photo
    at twice the video's size takes over a second to compress; this, a tenth of that)."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        image.convert("RGB").save(partial, format="JPEG", quality=92)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def cover(picture: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The picture scaled to fill `size` and centre-cropped: never letterboxed."""
    return ImageOps.fit(picture.convert("RGB"), size, method=Image.Resampling.LANCZOS)


def render_picture_scene(
    picture: Path, scene: Scene, *, index: int, total: int, title: str, fmt: VideoFormat,
    theme: Theme,
) -> PictureStill:
    """Scene `index` of `total` (1-based) drawn from `picture` (a PNG or JPEG): `background`
    is the picture cover-cropped at motion.picture_size(fmt) (twice the video's size, for a
    smooth pan and zoom), `overlay` the scrim and text at the video's size. Save them with
    save_jpeg and frames.save_png for SceneMedia("picture", background, overlay)."""
    _check_index(index, total)
    with Image.open(picture) as opened:
        opened.draft("RGB", picture_size(fmt))  # a large JPEG decoded at 1/2-1/8 scale
        background = cover(_opaque(opened, theme), picture_size(fmt))
    layout = _Layout.of(fmt)
    overlay = _scrim(layout, theme, _picture_alpha(layout))
    draw = ImageDraw.Draw(overlay)
    header_bottom = _draw_header(draw, layout, theme, title, f"{index} / {total}")
    _draw_progress(draw, layout, theme, index / total)
    top, bottom = header_bottom + layout.margin, layout.safe_bottom - layout.margin // 2
    start = layout.size(0.11 if layout.height > layout.width else 0.085)
    _draw_heading(draw, layout, theme, scene.heading, (top, bottom), start, middle=True)
    return PictureStill(background, overlay)


def render_clip_overlay(
    scene: Scene, *, index: int, total: int, title: str, fmt: VideoFormat, theme: Theme,
) -> Image.Image:
    """The RGBA overlay (video-sized) for scene `index` of `total` playing a clip: a band
    across the top, darkening the clip under the title, n / total, the progress track and
    the heading (at most a few lines, smaller than a text scene's), the rest clear."""
    _check_index(index, total)
    layout = _Layout.of(fmt)
    band = round(layout.height * CLIP_BAND)
    fade = Image.linear_gradient("L").resize((layout.width, band))
    alpha = Image.new("L", (layout.width, layout.height), 0)
    alpha.paste(ImageChops.invert(fade).point(lambda v: v * CLIP_SCRIM // 255), (0, 0))
    overlay = _scrim(layout, theme, alpha)
    draw = ImageDraw.Draw(overlay)
    header_bottom = _draw_header(draw, layout, theme, title, f"{index} / {total}")
    _draw_progress(draw, layout, theme, index / total)
    top = header_bottom + layout.margin // 2
    bottom = min(band, layout.safe_bottom) - layout.margin // 2
    _draw_heading(draw, layout, theme, scene.heading, (top, bottom), layout.size(0.065),
                  middle=False)
    return overlay


def _opaque(picture: Image.Image, theme: Theme) -> Image.Image:
    """A picture with transparency laid on the theme's background colour (a PNG's clear
    pixels hold any colour, often black)."""
    if picture.mode not in ("RGBA", "LA", "PA") and "transparency" not in picture.info:
        return picture
    base = Image.new("RGBA", picture.size, (*parse_colour(theme.background), 255))
    return Image.alpha_composite(base, picture.convert("RGBA"))


def _check_index(index: int, total: int) -> None:
    if not 1 <= index <= total:
        raise ValueError(f"Scene index is 1-based and at most total: got {index} of {total}")


def _picture_alpha(layout: _Layout) -> Image.Image:
    """Darkest at the top left, behind the title and the heading; lighter to the right;
    fading out (a cosine) from below the heading to a little way into the caption zone."""
    left, right = PICTURE_SCRIM
    row = Image.new("L", (layout.width, 1))
    row.putdata([round(left + (right - left) * x / max(1, layout.width - 1))
                 for x in range(layout.width)])
    solid, clear = 0.6 * layout.safe_bottom, layout.safe_bottom + 0.1 * layout.height
    column = Image.new("L", (1, layout.height))
    column.putdata([round(255 * _falloff((y - solid) / (clear - solid)))
                    for y in range(layout.height)])
    size = (layout.width, layout.height)
    return ImageChops.multiply(row.resize(size), column.resize(size))


def _falloff(t: float) -> float:
    """1 before 0, 0 after 1, a cosine in between."""
    return 1.0 if t <= 0 else 0.0 if t >= 1 else (1 + math.cos(math.pi * t)) / 2


def _scrim(layout: _Layout, theme: Theme, alpha: Image.Image) -> Image.Image:
    """A layer in the theme's background colour with `alpha` as its opacity."""
    overlay = Image.new("RGBA", (layout.width, layout.height),
                        (*parse_colour(theme.background), 0))
    overlay.putalpha(alpha)
    return overlay


def _draw_heading(draw: ImageDraw.ImageDraw, layout: _Layout, theme: Theme, heading: str,
                  span: tuple[int, int], start: int, *, middle: bool) -> None:
    """The accent bar and the heading below it, fitted between span's top and bottom;
    centred in the span (`middle`) or from its top."""
    top, bottom = span
    bar_width, bar_height = layout.bar
    block = fit_text(heading, FONTS[theme.font].bold,
                     box=(layout.text_width, max(1, bottom - top - 2 * bar_height)),
                     start=start, minimum=layout.size(0.03))
    y = top + (bottom - top - block.height - 2 * bar_height) // 2 if middle else top
    x = layout.margin
    draw.rectangle((x, y, x + bar_width - 1, y + bar_height - 1), fill=_rgba(theme.accent))
    _draw_block(draw, block, (x, y + 2 * bar_height), _rgba(theme.text), centred=False)
