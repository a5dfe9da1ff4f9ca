"""Pieces of the ffmpeg filter graph: escaping, stills, burned subtitles, the music bed."""

from __future__ import annotations

import re
from pathlib import Path

from webapp.video.formats import FPS, VideoFormat

AUDIO_RATE = 48000
# An A minor chord (A2 E3 A3 C4): soft sines that sit under a voice without competing.
MUSIC_CHORD = (110.0, 164.81, 220.0, 261.63)
_OPTION_SPECIALS = re.compile(r"([\\':])")
_GRAPH_SPECIALS = re.compile(r"([\\'\[\],;])")


def escape_filter_value(value: str) -> str:
    """Escape a string for use as an option value inside an ffmpeg filter graph.

    Two levels, as the ffmpeg-filters manual ("Notes on filtergraph escaping") describes:
    first the option value (\\ ' : are special), then the graph description, where the
    first level's backslashes and \\ ' [ ] , ; are special.
    """
    return _GRAPH_SPECIALS.sub(r"\\\1", _OPTION_SPECIALS.sub(r"\\\1", value))


def escape_filter_path(path: Path) -> str:
    """An absolute path escaped for a filter option such as subtitles=filename=..."""
    return escape_filter_value(str(Path(path).absolute()))


def still_chain(index: int, frames: int, fmt: VideoFormat) -> str:
    """Input `index` (one still) as exactly `frames` BT.709 yuv420p frames of the video size.

    The still is decoded and converted once, then repeated by the loop filter: about three
    times faster than letting `-loop 1` decode the PNG again for every frame, and the frame
    count is exact (an input `-t` gave one frame too few or too many).
    """
    w, h = fmt.width, fmt.height
    return (
        f"[{index}:v]scale={w}:{h}:force_original_aspect_ratio=decrease"
        ":out_color_matrix=bt709:out_range=tv,format=yuv420p,"
        f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
        f"loop=loop={frames - 1}:size=1:start=0,setpts=N/{FPS}/TB[v{index}]"
    )


def subtitles_filter(ass: Path, fonts_dir: Path | None) -> str:
    """The libass burn-in filter; fontsdir makes it use our vendored fonts."""
    option = f"subtitles=filename={escape_filter_path(ass)}"
    if fonts_dir is not None:
        option += f":fontsdir={escape_filter_path(fonts_dir)}"
    return option


def music_gain_db(level: int) -> float:
    """Music volume in dB for a 1-100 level: -34 dB (a whisper) up to -12 dB."""
    return -34.0 + 22.0 * level / 100


def music_chains(total: float, level: int) -> list[str]:
    """Sine sources summed into a slowly pulsing pad, faded in and out, labelled [music]."""
    labels = "".join(f"[m{i}]" for i in range(len(MUSIC_CHORD)))
    fade = min(2.0, total / 2)
    sources = [
        f"sine=frequency={freq}:sample_rate={AUDIO_RATE}:duration={total:.6f}[m{i}]"
        for i, freq in enumerate(MUSIC_CHORD)
    ]
    pad = (
        f"{labels}amix=inputs={len(MUSIC_CHORD)}:normalize=0,tremolo=f=0.2:d=0.4,"
        f"afade=t=in:d={fade:.3f},afade=t=out:st={total - fade:.6f}:d={fade:.3f},"
        f"volume={music_gain_db(level):.2f}dB[music]"
    )
    return [*sources, pad]
