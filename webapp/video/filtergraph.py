"""Pieces of the ffmpeg filter graph: escaping, moving stills and cross-fades, burned subtitles,
the music bed."""

from __future__ import annotations

import re
from pathlib import Path

from webapp.video.formats import FPS, VideoFormat, bleed_size

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


# Motion: the video's window drifts slowly across each still, drawn MOTION_BLEED larger
# than the video (formats.bleed_size), eased in and out (a cosine), in a direction that
# changes from scene to scene; scenes cross-fade over CROSSFADE seconds centred on the cut,
# so each scene's narration still starts on it.
CROSSFADE = 0.5
# (x, y) start and end of the window, as fractions of the room the margin leaves.
DRIFTS = (((0, 0), (1, 1)), ((1, 0.5), (0, 0.5)), ((0.5, 1), (0.5, 0)), ((1, 1), (0, 0)),
          ((0, 0.5), (1, 0.5)), ((0.5, 0), (0.5, 1)))


def _even(value: float) -> int:
    return 2 * round(value / 2)


def moving_still_chain(index: int, frames: int, fmt: VideoFormat, drift: int,
                       source: int | None = None) -> str:
    """Input `source` (one still; by default input `index`) as exactly `frames` frames of
    the video size, drifting: [v{index}].

    The still is brought once to the bleed size (a no-op for a still drawn with bleed, which
    keeps its text within the margins wherever the window is) and repeated by the loop
    filter; a crop window the size of the video then moves across it, so every frame costs
    a crop, not a scale. The window's path is DRIFTS[drift]."""
    w, h = fmt.width, fmt.height
    big_w, big_h = bleed_size(w, h)
    (x0, y0), (x1, y1) = DRIFTS[drift % len(DRIFTS)]
    # 0 -> 1 over the clip, eased; `n` is the frame number within this scene's clip.
    ease = f"(1-cos(PI*n/{max(1, frames - 1)}))/2"
    x = f"(iw-ow)*({x0}+{x1 - x0}*{ease})"
    y = f"(ih-oh)*({y0}+{y1 - y0}*{ease})"
    return (
        f"[{index if source is None else source}:v]"
        f"scale={big_w}:{big_h}:force_original_aspect_ratio=decrease:flags=lanczos"
        ":out_color_matrix=bt709:out_range=tv,format=yuv420p,"
        f"pad={big_w}:{big_h}:(ow-iw)/2:(oh-ih)/2,setsar=1,"
        f"loop=loop={frames - 1}:size=1:start=0,setpts=N/{FPS}/TB,"
        f"crop={w}:{h}:x='{x}':y='{y}':exact=1[v{index}]"
    )


def crossfade_frames(counts: list[int]) -> int:
    """Frames each cut's cross-fade takes (even: half on each side), shorter where a scene
    is too short for the whole of it; 0 for one scene."""
    if len(counts) < 2:
        return 0
    return _even(min(CROSSFADE * FPS, min(counts) / 2) - 1) if min(counts) >= 4 else 0


def clip_frames(counts: list[int], fade: int) -> list[int]:
    """Each scene's clip: its own frames plus half a cross-fade at each cut it touches."""
    last = len(counts) - 1
    return [c + (fade // 2 if i > 0 else 0) + (fade // 2 if i < last else 0)
            for i, c in enumerate(counts)]


def joined(counts: list[int], fade: int) -> str:
    """The clips [v0]..[vN] (clip_frames long) joined into [joined], cross-faded at each cut
    or, with no fade, concatenated.

    xfade blends only where two clips overlap, but every frame of a chain of them passes
    through each one, which cost 5 s of a minute's render (against 0.3 s for a concat). So
    each clip is cut into its head (the first `fade` frames), body and tail (the last
    `fade`): each cut's tail and head go through one xfade of their own, and the bodies and
    those blends are concatenated."""
    n = len(counts)
    if fade == 0:
        return "".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[joined]"
    clips = clip_frames(counts, fade)
    chains, order = [], []
    for i, frames in enumerate(clips):
        head, tail = (fade if i > 0 else 0), (fade if i < n - 1 else 0)
        parts = [("h", 0, head), ("b", head, frames - tail), ("t", frames - tail, frames)]
        parts = [(name, start, end) for name, start, end in parts if end > start]
        labels = "".join(f"[{name}{i}in]" for name, _, _ in parts)
        chains.append(f"[v{i}]split={len(parts)}{labels}")
        chains += [f"[{name}{i}in]trim=start_frame={start}:end_frame={end},"
                   f"setpts=PTS-STARTPTS[{name}{i}]" for name, start, end in parts]
        if i > 0:
            chains.append(f"[t{i - 1}][h{i}]xfade=transition=fade:duration={fade / FPS:.6f}"
                          f":offset=0[x{i}]")
            order.append(f"[x{i}]")
        order.append(f"[b{i}]")
    chains.append("".join(order) + f"concat=n={len(order)}:v=1:a=0[joined]")
    return ";".join(chains)


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
