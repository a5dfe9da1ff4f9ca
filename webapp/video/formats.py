"""Output sizes the app offers, and the frame rate every render uses."""

from __future__ import annotations

from dataclasses import dataclass

# Stills change only between scenes, so 30 fps costs little and keeps cue timing fine-grained.
FPS = 30


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
