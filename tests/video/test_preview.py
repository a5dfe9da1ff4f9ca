"""Scene previews: the still at a small size with a caption sample where the video puts it."""

from __future__ import annotations

from PIL import ImageChops

from webapp.video.captions import Captions
from webapp.video.formats import FORMATS
from webapp.video.preview import scene_preview
from webapp.video.script import Scene
from webapp.video.themes import THEMES, parse_colour

SCENE = Scene("How bees make honey", "Bees collect nectar from flowers. Then they fan it.")


def preview(captions: Captions | None, fmt: str = "landscape-720"):
    return scene_preview(SCENE, index=2, total=4, title="Honey", fmt=FORMATS[fmt],
                         theme=THEMES["midnight"], captions=captions)


def test_the_preview_is_small_and_keeps_the_format() -> None:
    assert preview(None).size == (480, 270)
    assert preview(None, "portrait-1080").size == (270, 480)
    assert preview(None, "square-1080").size == (480, 480)


def test_the_caption_sample_sits_where_the_video_puts_it() -> None:
    bare = preview(None)
    for position, (low, high) in (("bottom", (0.75, 1)), ("top", (0, 0.25)),
                                  ("middle", (0.3, 0.7))):
        box = ImageChops.difference(preview(Captions("outline", position)), bare).getbbox()
        assert box is not None
        assert low * 270 <= box[1] < box[3] <= high * 270, (position, box)


def test_the_highlighted_word_is_in_the_accent_colour() -> None:
    accent = parse_colour(THEMES["midnight"].accent)

    def lit(image) -> int:
        return sum(count for count, colour in image.getcolors(image.width * image.height)
                   if all(abs(a - b) < 30 for a, b in zip(colour, accent, strict=True)))

    # The theme's own accent bar and progress track use it too: compare with the same
    # preview in the outline style.
    assert lit(preview(Captions("highlight"))) > lit(preview(Captions("outline"))) + 20
