"""Burned subtitles rendered by the bundled ffmpeg's libass: user text is never markup."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image

from webapp.video.ffmpeg import escape_filter_path, ffmpeg_exe
from webapp.video.subtitles import Cue, to_ass
from webapp.video.themes import FONTS, FONTS_DIR

WIDTH, HEIGHT = 640, 360


def render(ass: str, folder: Path, name: str) -> tuple[int, int, int, int]:
    """Burn the ASS onto a black frame; the bounding box of the drawn text."""
    script = folder / f"{name}.ass"
    script.write_text(ass, encoding="utf-8")
    png = folder / f"{name}.png"
    graph = (
        f"subtitles=filename={escape_filter_path(script)}:fontsdir={escape_filter_path(FONTS_DIR)}"
    )
    subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:s={WIDTH}x{HEIGHT}:d=1",
            "-vf",
            graph,
            "-frames:v",
            "1",
            "-update",
            "1",
            "-y",
            str(png),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    with Image.open(png) as image:
        box = image.convert("L").point(lambda v: 255 if v > 40 else 0).getbbox()
    assert box is not None, f"nothing was drawn for {name}"
    return box


def ass_for(text: str) -> str:
    return to_ass(
        [Cue(0, 5, text)],
        width=WIDTH,
        height=HEIGHT,
        font_family=FONTS["sans"].family,
        font_size=24,
        text_colour="#ffffff",
    )


def height(box: tuple[int, int, int, int]) -> int:
    return box[3] - box[1]


def width(box: tuple[int, int, int, int]) -> int:
    return box[2] - box[0]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ass")


def test_override_blocks_and_line_breaks_render_literally(folder: Path) -> None:
    hostile = "{\\fs200}big \\N not-a-newline"
    plain = render(ass_for("big  not-a-newline"), folder, "plain")
    escaped = render(ass_for(hostile), folder, "escaped")
    # One line of the normal size: neither the size override nor the \N took effect ...
    assert height(escaped) <= height(plain) * 1.3
    # ... and the braces and backslashes are drawn as text, so the line is wider.
    assert width(escaped) > width(plain) * 1.3
    # The control: the same text without escaping is huge and on two lines.
    raw = ass_for("placeholder").replace("placeholder", hostile)
    assert height(render(raw, folder, "raw")) > height(plain) * 3


def test_hidden_text_tricks_stay_visible(folder: Path) -> None:
    """A brace block would hide its content; an escaped one is drawn in full."""
    visible = render(ass_for("{secret} words"), folder, "braces")
    words = render(ass_for("words"), folder, "words")
    assert width(visible) > width(words) * 2
    for name, text in (("alpha", "{\\alpha&HFF&}invisible"), ("pos", "{\\pos(0,0)}moved")):
        box = render(ass_for(text), folder, name)
        assert box[3] > HEIGHT * 0.75  # still at the bottom, still drawn
