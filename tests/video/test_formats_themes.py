"""Formats, themes, fonts and colour parsing."""

from __future__ import annotations

import re

import pytest
from PIL import ImageFont

from webapp.video.formats import FORMATS, FPS
from webapp.video.themes import DEFAULT_THEME, FONTS, FONTS_DIR, ROOT, THEMES, parse_colour


def test_formats_are_the_four_documented_sizes() -> None:
    sizes = {key: (f.width, f.height, f.label) for key, f in FORMATS.items()}
    assert sizes == {
        "landscape-720": (1280, 720, "16:9 · 1280×720"),
        "landscape-1080": (1920, 1080, "16:9 · 1920×1080"),
        "portrait-1080": (1080, 1920, "9:16 · 1080×1920"),
        "square-1080": (1080, 1080, "1:1 · 1080×1080"),
    }
    assert all(f.key == key for key, f in FORMATS.items())
    assert FPS == 30


@pytest.mark.parametrize("font", FONTS.values(), ids=list(FONTS))
def test_font_files_exist_and_family_is_what_libass_matches(font) -> None:
    assert font.regular.parent == FONTS_DIR
    for path, style in ((font.regular, "Book"), (font.bold, "Bold")):
        assert path.is_file()
        # libass matches a Style's Fontname against the font's family name.
        assert ImageFont.truetype(str(path), 12).getname() == (font.family, style)


def test_themes_use_known_fonts_and_valid_colours() -> None:
    assert DEFAULT_THEME in THEMES
    assert {"midnight", "paper", "sunset", "forest"} <= set(THEMES)
    for theme in THEMES.values():
        assert theme.font in FONTS
        for colour in (theme.background, theme.background_end, theme.text, theme.accent):
            parse_colour(colour)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("#000000", (0, 0, 0)), ("#fFa500", (255, 165, 0)), ("#abc", (170, 187, 204))],
)
def test_parse_colour(value: str, expected: tuple[int, int, int]) -> None:
    assert parse_colour(value) == expected


@pytest.mark.parametrize("value", ["", "fff", "#ff", "#abcd", "#gggggg", "red", "#1234567"])
def test_parse_colour_rejects_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match="#rgb or #rrggbb"):
        parse_colour(value)


def test_the_readme_lists_exactly_the_themes_and_fonts_there_are() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    start = readme.index("a visual theme (preset ")
    listed = readme[start:readme.index(")", start)]
    presets, fonts = listed.split("font", 1)
    assert re.findall(r"`([a-z-]+)`", presets) == list(THEMES)
    assert re.findall(r"`([a-z-]+)`", fonts) == list(FONTS)
