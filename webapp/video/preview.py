"""A scene as its video will show it, drawn quickly at a small size for the scene editor:
the still (frames.py, at the preview's size: its layout scales with the frame) with a
sample of the captions in the project's style, position and size, drawn with Pillow.

The captions are an approximation of libass's (the same font, sizes, margins and safe
area; outline, shadow, box and the highlighted word), close enough to choose a style by.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from webapp.video.captions import Captions
from webapp.video.formats import VideoFormat
from webapp.video.frames import render_scene
from webapp.video.script import Scene, split_sentences
from webapp.video.textfit import fit_text
from webapp.video.themes import FONTS, Theme, parse_colour

PREVIEW_LONG_SIDE = 480
SAMPLE_WORDS = 12


def preview_format(fmt: VideoFormat) -> tuple[VideoFormat, float]:
    """The preview's size (its long side PREVIEW_LONG_SIDE) and its scale to the video."""
    scale = PREVIEW_LONG_SIDE / max(fmt.width, fmt.height)
    small = VideoFormat(fmt.key, fmt.label, round(fmt.width * scale), round(fmt.height * scale))
    return small, scale


def scene_preview(scene: Scene, *, index: int, total: int, title: str, fmt: VideoFormat,
                  theme: Theme, captions: Captions | None) -> Image.Image:
    """Scene `index` of `total` as the video shows it; with `captions`, a caption sample
    (the start of its narration) burned in as the render would."""
    small, scale = preview_format(fmt)
    image = render_scene(scene, index=index, total=total, title=title, fmt=small, theme=theme)
    sample = _sample(scene.narration)
    if captions is not None and sample:
        _draw_captions(image, sample, captions, theme, fmt, scale)
    return image


def _sample(narration: str) -> str:
    sentences = split_sentences(narration)
    words = (sentences[0] if sentences else "").split()
    return " ".join(words[:SAMPLE_WORDS]) + ("…" if len(words) > SAMPLE_WORDS else "")


def _draw_captions(image: Image.Image, text: str, captions: Captions, theme: Theme,
                   fmt: VideoFormat, scale: float) -> None:
    size = max(6, round(captions.font_size(fmt.width, fmt.height) * scale))
    side, vertical = (round(m * scale) for m in captions.margins(fmt.width, fmt.height))
    bold = captions.style in ("outline", "highlight")
    font = FONTS[theme.font].bold if bold else FONTS[theme.font].regular
    block = fit_text(text, font, box=(image.width - 2 * side, size * 3), start=size,
                     minimum=size)
    top = {"bottom": image.height - vertical - block.height,
           "middle": (image.height - block.height) // 2, "top": vertical}[captions.position]
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    stroke = max(1, round(size * 0.07)) if bold else 0
    for number, line in enumerate(block.lines):
        y = top + number * block.pitch
        width = round(block.font.getlength(line))
        x = (image.width - width) // 2
        if captions.style == "box":
            pad = max(2, round(size * 0.25))
            draw.rectangle((x - pad, y - pad // 2, x + width + pad, y + block.pitch + pad // 2),
                           fill=(0, 0, 0, 160))
        elif captions.style == "plain":
            draw.text((x + 1, y + 1), line, font=block.font, fill=(0, 0, 0, 128))
        draw.text((x, y), line, font=block.font, fill=(255, 255, 255, 255),
                  stroke_width=stroke, stroke_fill=(0, 0, 0, 255))
        if captions.words and number == 0:  # the first word is the one being said
            word = line.split(" ", 1)[0]
            draw.text((x, y), word, font=block.font, fill=(*parse_colour(theme.accent), 255),
                      stroke_width=stroke, stroke_fill=(0, 0, 0, 255))
    image.paste(Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB"))
