"""Hostile and honest uploads, judged by what they are (webapp/media/inspect.py): real files
made with Pillow and the bundled ffmpeg."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.media import bomb_png, sample_files
from webapp.media.inspect import MediaLimits, MediaRejected, inspect

LIMITS = MediaLimits()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return sample_files(tmp_path_factory.mktemp("media"))


def _check(kind: str, path: Path, name: str | None, tmp_path: Path,
           limits: MediaLimits = LIMITS):
    return inspect(kind, path, name, limits, tmp_path)


def _refused(kind: str, path: Path, name: str | None, tmp_path: Path, words: str,
             limits: MediaLimits = LIMITS) -> None:
    with pytest.raises(MediaRejected) as refused:
        _check(kind, path, name, tmp_path, limits)
    assert words.lower() in str(refused.value).lower(), str(refused.value)


def test_honest_files_are_kept_pictures_re_encoded(files, tmp_path: Path) -> None:
    png = _check("image", files["photo.png"], "My holiday.PNG", tmp_path)
    assert (png.format.content_type, png.width, png.height) == ("image/png", 640, 360)
    assert png.path != files["photo.png"] and png.path.parent == tmp_path
    with Image.open(png.path) as kept:
        assert kept.getpixel((10, 10)) == (200, 40, 40)
    jpeg = _check("image", files["photo.jpg"], None, tmp_path)
    assert jpeg.format.content_type == "image/jpeg" and jpeg.path.suffix == ".jpg"
    clip = _check("clip", files["clip.mp4"], "beach.mov", tmp_path)
    assert (clip.width, clip.height) == (320, 240) and clip.duration == pytest.approx(2, 0.1)
    assert clip.path == files["clip.mp4"]
    for name in ("music.wav", "music.m4a"):
        music = _check("music", files[name], name, tmp_path)
        assert music.duration == pytest.approx(2, abs=0.1)


def test_a_picture_is_turned_upright_and_loses_its_metadata(tmp_path: Path) -> None:
    sideways = tmp_path / "sideways.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to show
    exif[0x010F] = "Spy camera"  # make
    Image.new("RGB", (400, 200), (0, 0, 255)).save(sideways, exif=exif.tobytes())
    kept = _check("image", sideways, "sideways.jpg", tmp_path)
    assert (kept.width, kept.height) == (200, 400)
    with Image.open(kept.path) as image:
        assert not image.getexif()


def test_wrong_extension(files, tmp_path: Path) -> None:
    _refused("image", files["photo.png"], "photo.jpg", tmp_path,
             "named .jpg but is a PNG picture")
    _refused("clip", files["clip.mp4"], "clip.webm", tmp_path, "named .webm but is an MP4")


def test_another_kind_than_asked(files, tmp_path: Path) -> None:
    _refused("clip", files["photo.png"], "photo.png", tmp_path, "is a PNG picture, not a video")
    _refused("image", files["music.wav"], None, tmp_path, "is a WAV sound file, not a picture")


def test_not_a_media_file(tmp_path: Path) -> None:
    page = tmp_path / "page.png"
    page.write_bytes(b"<html><script>alert(1)</script></html>")
    _refused("image", page, "page.png", tmp_path, "not a format this app can use")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    _refused("image", empty, "empty.png", tmp_path, "is empty")


def test_truncated(files, tmp_path: Path) -> None:
    data = files["photo.png"].read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    _refused("image", cut, "cut.png", tmp_path, "cannot be read")
    clip = files["clip.mp4"].read_bytes()
    short = tmp_path / "short.mp4"
    short.write_bytes(clip[: int(len(clip) * 0.6)])
    _refused("clip", short, "short.mp4", tmp_path, "cut short")


@pytest.mark.parametrize("tail", [b"<script>fetch('/api/v1/me')</script>",
                                  b"PK\x03\x04" + b"\0" * 26 + b"evil.html",
                                  b"just some other bytes"])
def test_polyglot(files, tmp_path: Path, tail: bytes) -> None:
    mixed = tmp_path / "mixed.png"
    mixed.write_bytes(files["photo.png"].read_bytes() + tail)
    _refused("image", mixed, "mixed.png", tmp_path, "polyglot")


def test_markup_inside_a_clip(files, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.mp4"
    mixed.write_bytes(files["clip.mp4"].read_bytes() + b"<html><body>hi</body></html>")
    _refused("clip", mixed, "mixed.mp4", tmp_path, "web page markup")


def test_a_30000_by_30000_png_is_refused_unopened(tmp_path: Path) -> None:
    """A decompression bomb: a few hundred bytes that would decode to 900 megapixels."""
    bomb = bomb_png(tmp_path / "bomb.png", 30_000)
    assert bomb.stat().st_size < 2000
    _refused("image", bomb, "bomb.png", tmp_path, "decompression bomb")
    # Under Pillow's own guard, the header's size is enough to refuse it.
    big = bomb_png(tmp_path / "big.png", 10_000)
    _refused("image", big, "big.png", tmp_path, "10,000 × 10,000 pixels")


def test_a_clip_with_no_video_stream(files, tmp_path: Path) -> None:
    _refused("clip", files["audio-only.mp4"], "song.mp4", tmp_path, "no picture")


def test_music_with_no_sound(files, tmp_path: Path) -> None:
    _refused("music", files["clip.mp4"], "clip.mp4", tmp_path, "not a music track")


def test_over_the_limits(files, tmp_path: Path) -> None:
    _refused("image", files["photo.png"], None, tmp_path, "may be at most 0.0 MB",
             MediaLimits(image_bytes=100))
    _refused("clip", files["clip.mp4"], None, tmp_path, "may last at most 1 s",
             MediaLimits(clip_seconds=1))
    _refused("clip", files["clip.mp4"], None, tmp_path, "at most 100 pixels",
             MediaLimits(clip_side=100))
    _refused("image", files["photo.png"], None, tmp_path, "at most 0.1 megapixels",
             MediaLimits(pixels=100_000))
