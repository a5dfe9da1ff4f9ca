"""A scene as its video will show it, drawn quickly at a small size for the scene editor:
the still (frames.py, at the preview's size: its layout scales with the frame), or for a
scene with an uploaded picture or clip the frame motion.py would show, with a sample of
the captions in the project's style, position and size, drawn with Pillow.

The captions are an approximation of libass's (the same font, sizes, margins and safe
area; outline, shadow, box and the highlighted word), close enough to choose a style by.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from webapp.video.captions import Captions
from webapp.video.formats import VideoFormat
from webapp.video.frames import render_scene
from webapp.video.media_frames import render_clip_overlay, render_picture_scene
from webapp.video.motion import clip_first_frame
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
    _add_captions(image, scene, captions, theme, fmt, scale)
    return image


def picture_preview(picture: Path, scene: Scene, *, index: int, total: int, title: str,
                    fmt: VideoFormat, theme: Theme, captions: Captions | None) -> Image.Image:
    """Scene `index` of `total` drawn from an uploaded `picture` as the video shows it
    halfway through (panned and zoomed as far as motion.py's move for that place in the
    video takes it by then, under its heading), with a caption sample as scene_preview."""
    small, scale = preview_format(fmt)
    still = render_picture_scene(picture, scene, index=index, total=total, title=title,
                                 fmt=small, theme=theme)
    image = still.flattened(0.5, index - 1)
    _add_captions(image, scene, captions, theme, fmt, scale)
    return image


def clip_preview(clip: Path, scene: Scene, *, index: int, total: int, title: str,
                 fmt: VideoFormat, theme: Theme, captions: Captions | None) -> Image.Image:
    """Scene `index` of `total` playing an uploaded `clip` as it starts: the clip's first
    frame filling the frame (one ffmpeg call) under its heading band, with a caption sample
    as scene_preview. Raises FfmpegError if ffmpeg cannot read the clip."""
    small, scale = preview_format(fmt)
    frame = clip_first_frame(clip, small)
    overlay = render_clip_overlay(scene, index=index, total=total, title=title, fmt=small,
                                  theme=theme)
    image = Image.alpha_composite(frame.convert("RGBA"), overlay).convert("RGB")
    _add_captions(image, scene, captions, theme, fmt, scale)
    return image


def _add_captions(image: Image.Image, scene: Scene, captions: Captions | None, theme: Theme,
                  fmt: VideoFormat, scale: float) -> None:
    sample = _sample(scene.narration)
    if captions is not None and sample:
        _draw_captions(image, sample, captions, theme, fmt, scale)


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
