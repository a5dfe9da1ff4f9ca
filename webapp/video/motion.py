"""Scenes made of uploaded media, in the filter graph: a picture that pans and zooms slowly
("Ken Burns"), a clip trimmed or looped to the scene, each under its still overlay.

A picture pans and zooms with zoompan on the picture at PICTURE_SCALE times the video's
size, each frame then averaged with the one before (tblend: a blur of the last frame's
movement, under a pixel). zoompan cuts its window at whole pixels of its input, so on an
input of the video's size a slow move steps by whole pixels, a visible jitter on a
detailed picture; at twice the size by half pixels, and the average halves the steps
again. Measured on 225 frames at 1280x720 by tracking a soft dot to a fraction of a pixel
(the largest bend of its path between frames; the filter's time a frame): zoompan on 1x
1.5 px, 0.9 ms; on 2x 0.75 px, 2.4-3.2 ms; on 2x averaged 0.38 px, 3.4-4.2 ms (chosen;
with the overlay about 4.7 ms); averaged over 3 frames (tmix) 0.25 px, 4.8 ms; perspective
(bilinear, exact) 0.1 px, 9.7 ms. Whatever moves it, x264 then spends about 4-5 ms more a
frame on a moving picture than on a drifting text still.
"""

from __future__ import annotations

import io
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from webapp.video.formats import FPS, VideoFormat
from webapp.video.process import FfmpegError, ffmpeg_exe

KINDS = ("picture", "clip")
PICTURE_SCALE = 2
# Each picture scene's move, chosen by its place in the video so the direction changes
# from scene to scene: (zoom at the start, zoom at the end, (x, y) of the window at the
# start and the end as fractions of the room the zoom leaves). Zooms stay within 1-1.12.
MOVES = (
    (1.0, 1.10, (0.5, 0.5), (0.0, 0.0)),
    (1.12, 1.02, (1.0, 0.5), (0.5, 0.5)),
    (1.02, 1.12, (0.0, 0.5), (1.0, 0.5)),
    (1.0, 1.10, (0.5, 0.5), (1.0, 1.0)),
    (1.12, 1.04, (1.0, 0.2), (0.0, 0.8)),
    (1.0, 1.10, (0.5, 0.5), (0.5, 0.4)),
)


@dataclass(frozen=True)
class SceneMedia:
    """What a scene shows instead of its text still.

    kind "picture": `path` is the picture cover-cropped at picture_size(fmt) and `overlay`
    its heading layer at the video's size, as media_frames.render_picture_scene draws them
    (saved with media_frames.save_jpeg and frames.save_png); any picture ffmpeg reads works
    (it is scaled to cover picture_size), but one drawn at that size costs no scale.
    kind "clip": `path` is the uploaded clip (any container ffmpeg reads), `overlay` the PNG
    media_frames.render_clip_overlay draws, `duration` its probed length in seconds (for
    the caller's records: the clip is looped or cut to its scene whatever it says).
    """

    kind: str
    path: Path
    overlay: Path
    duration: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"A scene's media is a picture or a clip, not {self.kind!r}")
        if self.duration is not None and self.duration <= 0:
            raise ValueError(f"A clip's probed duration must be positive, got {self.duration}")

    def input_args(self) -> list[str]:
        """ffmpeg's input options for `path` (the overlay is one more -i). A clip is read
        again from its start whenever it ends, by the demuxer (no frame is held in memory
        for it, unlike the loop filter), and cut to its scene in the graph: always, since a
        container's duration (its longest stream) can promise more pictures than it has."""
        path = str(Path(self.path).absolute())
        if self.kind == "picture":
            return ["-framerate", str(FPS), "-i", path]
        return ["-stream_loop", "-1", "-i", path]


def window(move: int, fraction: float) -> tuple[float, float, float]:
    """Where a picture scene's window is, `fraction` (0-1) of the way through the scene:
    (left, top, size) as fractions of the picture (size is 1 / zoom)."""
    z0, z1, (x0, y0), (x1, y1) = MOVES[move % len(MOVES)]
    ease = _ease(fraction)
    size = 1 / (z0 + (z1 - z0) * ease)
    return ((1 - size) * (x0 + (x1 - x0) * ease), (1 - size) * (y0 + (y1 - y0) * ease), size)


def _ease(fraction: float) -> float:
    """Slow in, slow out: the cosine the text scenes' drift uses (filtergraph.py)."""
    return (1 - math.cos(math.pi * fraction)) / 2


def picture_size(fmt: VideoFormat) -> tuple[int, int]:
    """The size a picture scene's background is drawn at for the pan and zoom."""
    return fmt.width * PICTURE_SCALE, fmt.height * PICTURE_SCALE


def picture_chain(source: int, overlay: int, label: int, frames: int, fmt: VideoFormat,
                  move: int) -> str:
    """Input `source` (a picture, best drawn at picture_size) as `frames` frames of the
    video's size, panning and zooming by MOVES[move] (see window()), with input `overlay`
    on top: [v{label}]. zoompan makes one frame more, which the average takes."""
    z0, z1, (x0, y0), (x1, y1) = MOVES[move % len(MOVES)]
    ease = f"(1-cos(PI*on/{max(1, frames - 1)}))/2"  # `on`: zoompan's output frame
    big_w, big_h = picture_size(fmt)
    return (
        f"[{source}:v]scale={big_w}:{big_h}:force_original_aspect_ratio=increase"
        f":flags=lanczos:out_color_matrix=bt709:out_range=tv,crop={big_w}:{big_h},"
        f"format=yuv420p,setsar=1,"
        f"zoompan=z='{z0}+{z1 - z0}*{ease}':x='(iw-iw/zoom)*({x0}+{x1 - x0}*{ease})'"
        f":y='(ih-ih/zoom)*({y0}+{y1 - y0}*{ease})':d={frames + 1}"
        f":s={fmt.width}x{fmt.height}:fps={FPS},tblend=all_mode=average,"
        f"setpts=N/{FPS}/TB[m{label}];"
        + _overlaid(f"[m{label}]", overlay, label)
    )


def clip_chain(source: int, overlay: int, label: int, frames: int, fmt: VideoFormat) -> str:
    """Input `source` (a clip, looped by its input options if short) as exactly `frames`
    frames at FPS, scaled to cover the frame and centre-cropped, its sound unused, with
    input `overlay` on top: [v{label}]."""
    return (
        f"[{source}:v:0]fps={FPS},{cover_filter(fmt)},format=yuv420p,"
        f"trim=end_frame={frames},setpts=N/{FPS}/TB[m{label}];"
        + _overlaid(f"[m{label}]", overlay, label)
    )


def cover_filter(fmt: VideoFormat) -> str:
    """Filters that bring a clip's frames to the video's size, filling it: square pixels (a
    no-op unless the clip's are not), centre-cropped to the frame's shape (so only what is
    shown is scaled), then scaled (BT.709)."""
    w, h = fmt.width, fmt.height
    return (f"scale='if(eq(sar,1),iw,2*trunc(iw*sar/2))':ih,setsar=1,"
            f"crop='min(iw,ih*{w}/{h})':'min(ih,iw*{h}/{w})',"
            f"scale={w}:{h}:flags=bicubic:out_color_matrix=bt709:out_range=tv,setsar=1")


def clip_first_frame(clip: Path, fmt: VideoFormat) -> Image.Image:
    """The clip's first frame as its scene starts (cover_filter), RGB, from one ffmpeg call
    (for the scene preview)."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
            "-i", str(Path(clip).absolute()), "-map", "0:v:0", "-frames:v", "1",
            "-vf", cover_filter(fmt), "-f", "image2pipe", "-c:v", "png", "-"]
    result = subprocess.run(args, capture_output=True, timeout=60, check=False)
    if result.returncode != 0 or not result.stdout:
        raise FfmpegError(f"Could not read the first frame of {clip}",
                          result.stderr.decode("utf-8", "replace"))
    with Image.open(io.BytesIO(result.stdout)) as frame:
        return frame.convert("RGB")


def _overlaid(base: str, overlay: int, label: int) -> str:
    """The overlay PNG (one frame, repeated by overlay) converted with the video's matrix
    and blended over `base`."""
    return (f"[{overlay}:v]scale=out_color_matrix=bt709:out_range=tv,format=yuva420p"
            f"[o{label}];{base}[o{label}]overlay=format=yuv420:eof_action=repeat[v{label}]")
