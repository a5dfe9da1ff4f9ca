"""Output sizes the app offers, and the frame rate every render uses."""

from __future__ import annotations

from dataclasses import dataclass

# Stills change only between scenes, so 30 fps costs little and keeps cue timing fine-grained.
FPS = 30
# Scene stills are drawn larger than the video by this fraction of its shorter side on each
# axis (the layout stays the video's, centred): the window the video shows drifts across
# the extra, so every scene moves gently without a scale per frame
# (webapp/video/filtergraph.py). Less than the frames' margins (7.5 %), so nothing drawn
# leaves the window.
MOTION_BLEED = 0.05


def bleed_size(width: int, height: int) -> tuple[int, int]:
    """The size of a scene still for a video of width x height (even sides, for yuv420p)."""
    extra = 2 * round(min(width, height) * MOTION_BLEED / 2)
    return width + extra, height + extra


@dataclass(frozen=True)
class VideoFormat:
    """One output size: its key, a label for forms, and pixel dimensions."""

    key: str
    label: str
    width: int
    height: int


FORMATS: dict[str, VideoFormat] = {
    f.key: f
    for f in (
        VideoFormat("landscape-720", "16:9 · 1280×720", 1280, 720),
        VideoFormat("landscape-1080", "16:9 · 1920×1080", 1920, 1080),
        VideoFormat("portrait-1080", "9:16 · 1080×1920", 1080, 1920),
        VideoFormat("square-1080", "1:1 · 1080×1080", 1080, 1080),
    )
}
