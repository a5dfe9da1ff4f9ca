"""Picture scenes and clip overlays drawn with Pillow, and their scene previews."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from tests.video import motion_media as m
from webapp.video.captions import Captions
from webapp.video.formats import FORMATS, VideoFormat
from webapp.video.frames import SUBTITLE_ZONE
from webapp.video.media_frames import CLIP_BAND, cover, render_clip_overlay, render_picture_scene
from webapp.video.motion import picture_size, window
from webapp.video.preview import clip_preview, picture_preview, scene_preview
from webapp.video.process import FfmpegError
from webapp.video.script import Scene
from webapp.video.themes import THEMES

LONG = " ".join(["Incomprehensibilities"] * 30)
FORMAT_IDS = list(FORMATS)
THEME = THEMES["midnight"]


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pictures")
    return {"wide": m.picture(folder / "wide.png", (900, 500)),
            "tall": m.picture(folder / "tall.jpg", (300, 700))}


def picture_scene(path: Path, heading: str, fmt: VideoFormat):
    return render_picture_scene(path, Scene(heading, ""), index=2, total=5, title="A title",
                                fmt=fmt, theme=THEME)


def drawn_box(image: Image.Image, reference: Image.Image) -> tuple[int, int, int, int]:
    box = ImageChops.difference(image, reference).getbbox()
    assert box is not None
    return box


@pytest.mark.parametrize("fmt", FORMATS.values(), ids=FORMAT_IDS)
def test_a_picture_scene_covers_the_frame_and_keeps_the_captions_clear(
        pictures: dict[str, Path], fmt: VideoFormat) -> None:
    for picture in pictures.values():
        still = picture_scene(picture, LONG, fmt)
        assert still.background.size == picture_size(fmt) and still.background.mode == "RGB"
        assert still.overlay.size == (fmt.width, fmt.height) and still.overlay.mode == "RGBA"
        # Covered, never letterboxed: every edge of the background shows the picture.
        w, h = still.background.size
        for box in ((0, 0, w, 1), (0, h - 1, w, h), (0, 0, 1, h), (w - 1, 0, w, h)):
            assert ImageStat.Stat(still.background.crop(box).convert("L")).mean[0] > 40
    text = drawn_box(still.overlay, picture_scene(picture, "", fmt).overlay)
    margin = round(min(fmt.width, fmt.height) * 0.05)
    assert text[0] >= margin and text[2] <= fmt.width - margin
    assert text[3] <= fmt.height * (1 - SUBTITLE_ZONE)
    # The scrim fades out a little way into the caption zone: the bottom is untouched.
    assert still.overlay.getchannel("A").crop((0, round(fmt.height * 0.9), fmt.width,
                                               fmt.height)).getbbox() is None


@pytest.mark.parametrize("fmt", FORMATS.values(), ids=FORMAT_IDS)
def test_a_clip_overlay_is_a_band_at_the_top(fmt: VideoFormat) -> None:
    overlay = render_clip_overlay(Scene(LONG, ""), index=3, total=4, title="T", fmt=fmt,
                                  theme=THEME)
    empty = render_clip_overlay(Scene("", ""), index=3, total=4, title="T", fmt=fmt,
                                theme=THEME)
    assert overlay.size == (fmt.width, fmt.height) and overlay.mode == "RGBA"
    alpha = overlay.getchannel("A").getbbox()
    assert alpha is not None and alpha[3] <= round(fmt.height * CLIP_BAND)
    left, _, right, bottom = drawn_box(overlay, empty)
    assert bottom <= fmt.height * CLIP_BAND and bottom <= fmt.height * (1 - SUBTITLE_ZONE)
    assert left > 0 and right < fmt.width


def test_cover_crops_the_middle_never_pads() -> None:
    tall = Image.new("RGB", (100, 400), (200, 0, 0))
    tall.paste((0, 0, 200), (0, 150, 100, 250))  # a blue middle
    covered = cover(tall, (160, 90))
    assert covered.size == (160, 90)
    assert covered.getpixel((80, 45)) == (0, 0, 200)
    assert ImageStat.Stat(covered).extrema[2][1] >= 190  # the middle, scaled up


def test_the_scene_moves_between_its_start_and_end(pictures: dict[str, Path]) -> None:
    still = picture_scene(pictures["wide"], "Heading", FORMATS["landscape-720"])
    start, middle, end = (still.flattened(f, move=0) for f in (0.0, 0.5, 1.0))
    assert start.size == middle.size == (1280, 720)
    for a, b in ((start, middle), (middle, end)):
        assert ImageStat.Stat(ImageChops.difference(a, b).convert("L")).mean[0] > 3
    for move in range(6):
        for fraction in (0.0, 0.3, 1.0):
            left, top, size = window(move, fraction)
            assert min(left, top) >= 0 and max(left, top) + size <= 1 + 1e-9
            assert 0.89 <= size <= 1


def test_picture_and_clip_previews(pictures: dict[str, Path], tmp_path: Path) -> None:
    scene = Scene("Bees at work", "Bees collect nectar from flowers. Then they fan it.")
    options = {"index": 2, "total": 4, "title": "Honey", "theme": THEME}
    for key, size in (("landscape-720", (480, 270)), ("portrait-1080", (270, 480))):
        fmt = FORMATS[key]
        text = scene_preview(scene, fmt=fmt, captions=None, **options)
        picture = picture_preview(pictures["wide"], scene, fmt=fmt, captions=None, **options)
        assert picture.size == size and picture.mode == "RGB"
        assert ImageStat.Stat(ImageChops.difference(picture, text).convert("L")).mean[0] > 10
        captioned = picture_preview(pictures["wide"], scene, fmt=fmt,
                                    captions=Captions("outline"), **options)
        box = drawn_box(captioned, picture)
        assert box[1] >= size[1] * 0.75  # the caption sample at the bottom
    clip = m.clip(tmp_path / "clip.mp4", (360, 640), 1)
    preview = clip_preview(clip, scene, fmt=FORMATS["landscape-720"], captions=None, **options)
    assert preview.size == (480, 270)
    # The clip's colour bars fill the frame below the heading band.
    assert ImageStat.Stat(preview.crop((0, 200, 480, 270)).convert("L")).mean[0] > 60
    (tmp_path / "broken.mp4").write_bytes(b"\0" * 1000)
    with pytest.raises(FfmpegError):
        clip_preview(tmp_path / "broken.mp4", scene, fmt=FORMATS["landscape-720"],
                     captions=None, **options)


def test_a_transparent_picture_lies_on_the_theme_background(tmp_path: Path) -> None:
    picture = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    picture.paste((255, 200, 0, 255), (100, 75, 300, 225))
    picture.save(tmp_path / "clear.png")
    still = picture_scene(tmp_path / "clear.png", "", FORMATS["landscape-720"])
    assert still.background.getpixel((2, 2)) == (15, 23, 42)  # midnight's background
    assert still.background.getpixel((1280, 720)) == (255, 200, 0)
