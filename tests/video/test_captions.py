"""Caption styles, positions and sizes, burned by the bundled ffmpeg's libass, and the word
timings of the "current word highlighted" style in the ASS, WebVTT and SRT tracks."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from webapp.video.captions import Captions, word_times
from webapp.video.ffmpeg import escape_filter_path, ffmpeg_exe
from webapp.video.subtitles import Cue, to_ass, to_srt, to_vtt
from webapp.video.themes import FONTS, FONTS_DIR

ACCENT = "#ff2000"
GREY = "808080"  # the frame the captions are burned onto: boxes and colours stand out


def burned(captions: Captions, size: tuple[int, int], folder: Path, at: float = 0.5,
           text: str = "Honeybees make honey") -> Image.Image:
    """One frame at `at` s of a grey video with one cue (0 to 3 s) burned in."""
    width, height = size
    script = folder / "captions.ass"
    script.write_text(to_ass([Cue(0, 3, text)], width=width, height=height,
                             font_family=FONTS["sans"].family, text_colour="#ffffff",
                             captions=captions, accent_colour=ACCENT), encoding="utf-8")
    png = folder / "frame.png"
    graph = (f"subtitles=filename={escape_filter_path(script)}"
             f":fontsdir={escape_filter_path(FONTS_DIR)}")
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-f",
                    "lavfi", "-i", f"color=c=0x{GREY}:s={width}x{height}:d=3", "-vf", graph,
                    "-ss", f"{at}", "-frames:v", "1", "-update", "1", "-y", str(png)],
                   check=True, capture_output=True, timeout=30)
    with Image.open(png) as image:
        return image.convert("RGB")


def drawn_box(frame: Image.Image) -> tuple[int, int, int, int]:
    """Where the frame is no longer the plain grey."""
    grey = Image.new("RGB", frame.size, (128, 128, 128))
    box = ImageChops.difference(frame, grey).convert("L").point(
        lambda v: 255 if v > 24 else 0).getbbox()
    assert box is not None, "no caption was drawn"
    return box


@pytest.mark.parametrize(("position", "where"), [("bottom", (0.80, 1.0)),
                                                  ("middle", (0.35, 0.65)),
                                                  ("top", (0.0, 0.2))])
def test_positions(position: str, where: tuple[float, float], tmp_path: Path) -> None:
    frame = burned(Captions("outline", position, "medium"), (640, 360), tmp_path)
    _, top, _, bottom = drawn_box(frame)
    assert where[0] * 360 <= top < bottom <= where[1] * 360


def test_portrait_captions_stay_in_the_short_video_safe_area(tmp_path: Path) -> None:
    for position in ("bottom", "top"):
        frame = burned(Captions("outline", position, "large"), (540, 960), tmp_path,
                       text="A sentence long enough to wrap onto two lines in portrait")
        left, top, right, bottom = drawn_box(frame)
        assert bottom <= 960 * 0.80 and top >= 960 * 0.12
        assert left >= 540 * 0.08 - 4 and right <= 540 * 0.92 + 4


def test_sizes_grow(tmp_path: Path) -> None:
    heights = []
    for size in ("small", "medium", "large"):
        _, top, _, bottom = drawn_box(burned(Captions("outline", "middle", size), (1280, 720),
                                             tmp_path))
        heights.append(bottom - top)
    assert heights[0] < heights[1] < heights[2]


def test_the_box_style_draws_a_dark_box_behind_the_text(tmp_path: Path) -> None:
    boxed = burned(Captions("box", "middle", "medium"), (640, 360), tmp_path)
    plain = burned(Captions("plain", "middle", "medium"), (640, 360), tmp_path)
    box, bare = drawn_box(boxed), drawn_box(plain)
    assert box[0] < bare[0] and box[3] - box[1] > bare[3] - bare[1]  # larger than the text
    # Just inside the box's corner: darker than the grey, where plain text leaves it grey.
    corner = (box[0] + 2, box[1] + 2)
    assert sum(boxed.getpixel(corner)) < 3 * 100
    assert plain.getpixel(corner) == (128, 128, 128)


def _accent_pixels(frame: Image.Image) -> list[int]:
    """Columns of pixels in the accent colour (red, little green or blue)."""
    return [x for x in range(frame.width) for y in range(0, frame.height, 2)
            if (p := frame.getpixel((x, y)))[0] > 180 and p[1] < 90 and p[2] < 90]


def test_the_current_word_is_highlighted_as_it_is_said(tmp_path: Path) -> None:
    captions = Captions("highlight", "middle", "large")
    timed = word_times(0, 3, "Honeybees make honey")
    early = _accent_pixels(burned(captions, (640, 360), tmp_path, at=timed[0][0] + 0.05))
    late = _accent_pixels(burned(captions, (640, 360), tmp_path, at=timed[2][0] + 0.05))
    assert early and late
    assert max(early) < min(late)  # the first word, then the last one, lit
    still = burned(Captions("outline", "middle", "large"), (640, 360), tmp_path)
    assert not _accent_pixels(still)
    assert ImageStat.Stat(still).mean != ImageStat.Stat(Image.new("RGB", still.size)).mean


def test_word_times_share_the_cue_by_length() -> None:
    timed = word_times(1.0, 3.0, "a honeybee")
    assert [w for _, _, w in timed] == ["a", "honeybee"]
    assert timed[0][0] == 1.0 and timed[-1][1] == pytest.approx(3.0)
    assert timed[0][1] == pytest.approx(timed[1][0])  # contiguous
    assert (timed[1][1] - timed[1][0]) == pytest.approx(4.5 * (timed[0][1] - timed[0][0]))
    assert word_times(0, 1, "  ") == []


def test_highlighted_words_stay_literal_and_escaped() -> None:
    ass = to_ass([Cue(0, 1, "Say {\\fs99} now")], width=640, height=360,
                 font_family="DejaVu Sans", text_colour="#ffffff",
                 captions=Captions("highlight"), accent_colour=ACCENT)
    events = [line for line in ass.splitlines() if line.startswith("Dialogue:")]
    assert len(events) == 3
    assert events[1].endswith("Say {\\1c&H000020FF}\\{\\\u2060fs99\\}{\\r} now")


def test_word_timed_tracks() -> None:
    cues = [Cue(0.25, 1.5, "Hello <b>there</b>")]
    vtt = to_vtt(cues, words=True)
    assert "00:00:00.250 --> 00:00:01.500\nHello <00:00:00.645>&lt;b&gt;there&lt;/b&gt;\n" \
        in vtt
    srt = to_srt(cues, words=True)
    assert srt.count(" --> ") == 2
    assert "<b>Hello</b> <\u2060b>there<\u2060/b>" in srt
    assert "Hello <b><\u2060b>there<\u2060/b></b>" in srt
    assert to_vtt(cues) == ("WEBVTT\n\n00:00:00.250 --> 00:00:01.500\n"
                            "Hello &lt;b&gt;there&lt;/b&gt;\n")
