"""Scene and title frames: exact sizes, text that never overflows, atomic PNG writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageChops

from webapp.video.formats import FORMATS, VideoFormat, bleed_size
from webapp.video.frames import SUBTITLE_ZONE, render_scene, render_title_card, save_png
from webapp.video.script import Scene
from webapp.video.themes import THEMES, Theme

LONG_HEADING = " ".join(["Incomprehensibilities"] * 40) + " " + "x" * 400
FORMAT_IDS = list(FORMATS)


def scene_image(
    heading: str, fmt: VideoFormat, theme: Theme, title: str = "A title"
) -> Image.Image:
    return render_scene(
        Scene(heading, "Narration is not drawn."),
        index=2,
        total=5,
        title=title,
        fmt=fmt,
        theme=theme,
    )


def changed_box(image: Image.Image, reference: Image.Image) -> tuple[int, int, int, int] | None:
    """Where two renders differ."""
    return ImageChops.difference(image, reference).getbbox()


@pytest.mark.parametrize("fmt", FORMATS.values(), ids=FORMAT_IDS)
def test_every_format_and_theme_has_the_exact_size(fmt: VideoFormat) -> None:
    for theme in THEMES.values():
        image = scene_image("Why it matters", fmt, theme)
        assert image.mode == "RGB" and image.size == (fmt.width, fmt.height)
    card = render_title_card("Title", subtitle="Sub", fmt=fmt, theme=THEMES["paper"])
    assert card.mode == "RGB" and card.size == (fmt.width, fmt.height)


@pytest.mark.parametrize("fmt", FORMATS.values(), ids=FORMAT_IDS)
@pytest.mark.parametrize("heading", ["Short", LONG_HEADING, "W" * 300])
def test_heading_stays_inside_the_margins_and_above_the_subtitles(fmt, heading) -> None:
    theme = THEMES["midnight"]
    box = changed_box(scene_image(heading, fmt, theme), scene_image("", fmt, theme))
    assert box is not None
    left, top, right, bottom = box
    margin = round(min(fmt.width, fmt.height) * 0.05)
    assert left >= margin and right <= fmt.width - margin
    assert bottom <= fmt.height * (1 - SUBTITLE_ZONE)
    assert top > fmt.height * 0.08  # below the title row


@pytest.mark.parametrize("fmt", FORMATS.values(), ids=FORMAT_IDS)
def test_title_card_text_fits(fmt: VideoFormat) -> None:
    theme = THEMES["sunset"]
    empty = render_title_card("", subtitle=None, fmt=fmt, theme=theme)
    for title, subtitle in (("Hello", "world"), (LONG_HEADING, LONG_HEADING), ("T", None)):
        card = render_title_card(title, subtitle=subtitle, fmt=fmt, theme=theme)
        left, top, right, bottom = changed_box(card, empty)
        assert left > 0 and top > 0 and right < fmt.width
        assert bottom <= fmt.height * (1 - SUBTITLE_ZONE)


def test_long_title_in_the_corner_is_cut_not_overlapping_the_counter() -> None:
    fmt = FORMATS["portrait-1080"]
    theme = THEMES["forest"]
    short = scene_image("Heading", fmt, theme, title="T")
    long = scene_image("Heading", fmt, theme, title="A very long project title " * 10)
    left, _, right, bottom = changed_box(long, short)
    assert right < fmt.width * 0.85  # stops before the "2 / 5" counter
    assert bottom < fmt.height * 0.1


def test_background_is_a_vertical_gradient() -> None:
    fmt = FORMATS["square-1080"]
    theme = Theme("#000000", "#ffffff", "#ff0000", "#00ff00", "sans")
    image = scene_image("", fmt, theme)
    bottom_left = image.getpixel((5, fmt.height - 5))
    assert image.getpixel((fmt.width - 5, fmt.height // 2 + 100)) == image.getpixel(
        (5, fmt.height // 2 + 100)
    )
    assert sum(bottom_left) > 3 * 240  # near white at the bottom
    assert sum(image.getpixel((5, 40))) < 3 * 30  # near black at the top


def test_theme_colours_are_used() -> None:
    fmt = FORMATS["landscape-720"]
    theme = Theme("#102030", "#102030", "#ffffff", "#ff0000", "mono")
    colours = {colour for _, colour in scene_image("Heading", fmt, theme).getcolors(1 << 20)}
    assert {(16, 32, 48), (255, 255, 255), (255, 0, 0)} <= colours


def test_index_is_one_based() -> None:
    fmt, theme = FORMATS["landscape-720"], THEMES["midnight"]
    for index, total in ((0, 3), (4, 3)):
        with pytest.raises(ValueError, match="1-based"):
            render_scene(Scene("h", "n"), index=index, total=total, title="t", fmt=fmt, theme=theme)


def test_save_png_is_atomic_and_readable(tmp_path: Path) -> None:
    image = render_title_card(
        "Saved", subtitle=None, fmt=FORMATS["square-1080"], theme=THEMES["terminal"]
    )
    save_png(image, tmp_path / "card.png")
    save_png(image, tmp_path / "card.png")  # replacing an existing file works too
    assert [p.name for p in tmp_path.iterdir()] == ["card.png"]
    with Image.open(tmp_path / "card.png") as saved:
        assert saved.format == "PNG" and saved.size == (1080, 1080)
    with pytest.raises(FileNotFoundError):
        save_png(image, tmp_path / "missing" / "card.png")


@pytest.mark.parametrize("fmt", FORMATS.values(), ids=FORMAT_IDS)
def test_a_still_with_bleed_keeps_everything_in_the_frame_wherever_the_window_drifts(
        fmt: VideoFormat) -> None:
    """Motion (webapp/video/filtergraph.py) shows a window of the video's size anywhere in
    the bled still: every drawn thing must be inside even the most off-centre window."""
    theme = THEMES["midnight"]
    still = render_scene(Scene("A heading that is long enough to wrap " * 3, ""), index=2,
                         total=5, title="A title", fmt=fmt, theme=theme, bleed=True)
    assert still.size == bleed_size(fmt.width, fmt.height) != (fmt.width, fmt.height)
    empty = render_scene(Scene("", ""), index=2, total=5, title="", fmt=fmt, theme=theme,
                         bleed=True)
    drawn = ImageChops.difference(still, empty).getbbox()
    background = render_scene(Scene("", ""), index=1, total=1, title="", fmt=fmt,
                              theme=theme, bleed=True)
    track = ImageChops.difference(empty, background).getbbox()  # counter and progress
    room_x, room_y = still.width - fmt.width, still.height - fmt.height
    for box in (drawn, track):
        left, top, right, bottom = box
        # The window's left edge goes from 0 to room_x: whatever is drawn is inside both.
        assert left >= room_x + 4 and right <= fmt.width - 4
        assert top >= room_y + 4 and bottom <= fmt.height - 4
