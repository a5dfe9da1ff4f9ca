"""What is inside a media file, read from `ffmpeg -i` (imageio-ffmpeg ships no ffprobe)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from webapp.video.process import FfmpegError, ffmpeg_exe

_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (Video|Audio|Subtitle): (.*)$", re.MULTILINE)
_SIZE = re.compile(r"^(\d+)x(\d+)\b")
_PIX_FMT = re.compile(r"^([a-z0-9_]+)(?:\((.*)\))?$")
# Tokens inside "yuv420p(tv, bt709, progressive)" that are not the colour space.
_NOT_COLOUR_SPACE = {
    "tv",
    "pc",
    "progressive",
    "top first",
    "bottom first",
    "top coded first (swapped)",
    "bottom coded first (swapped)",
}


@dataclass
class MediaInfo:
    """Duration and the first video, audio and subtitle stream of a file."""

    duration: float
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    subtitle_codec: str | None = None
    pix_fmt: str | None = None
    color_space: str | None = None


def probe(path: Path) -> MediaInfo:
    """Describe a media file by parsing what `ffmpeg -hide_banner -i` prints."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(Path(path).absolute())],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=60,
        check=False,
    )
    return parse_probe(result.stderr, path)


def parse_probe(stderr: str, path: Path | str = "input") -> MediaInfo:
    """Parse the stream summary `ffmpeg -i` prints for its first input."""
    duration = _DURATION.search(stderr)
    streams: dict[str, str] = {}
    for kind, description in _STREAM.findall(stderr):
        streams.setdefault(kind, description)
    if not duration and not streams:
        raise FfmpegError(f"ffmpeg could not read {path}", _tail(stderr))
    seconds = 0.0
    if duration:
        hours, minutes, secs = duration.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + float(secs)
    info = MediaInfo(
        seconds,
        audio_codec=_codec(streams.get("Audio")),
        subtitle_codec=_codec(streams.get("Subtitle")),
    )
    if "Video" in streams:
        _read_video(streams["Video"], info)
    return info


def _read_video(description: str, info: MediaInfo) -> None:
    fields = _split_top_level(description)
    info.video_codec = _codec(description)
    for field in fields[1:]:
        if size := _SIZE.match(field):
            info.width, info.height = int(size.group(1)), int(size.group(2))
            break
        if info.pix_fmt is None and (pix := _PIX_FMT.match(field)):
            info.pix_fmt = pix.group(1)
            tokens = [t.strip() for t in (pix.group(2) or "").split(",")]
            spaces = [t for t in tokens if t and t not in _NOT_COLOUR_SPACE]
            info.color_space = spaces[0].split("/")[0] if spaces else None


def _split_top_level(description: str) -> list[str]:
    """Split on ", " outside parentheses: "h264 (High), yuv420p(tv, bt709), 1280x720"."""
    fields, depth, current = [], 0, ""
    for char in description:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            fields.append(current.strip())
            current = ""
        else:
            current += char
    return [*fields, current.strip()]


def _codec(description: str | None) -> str | None:
    return description.split()[0].rstrip(",") if description else None


def _tail(stderr: str, lines: int = 15) -> str:
    return "\n".join(stderr.strip().splitlines()[-lines:])
