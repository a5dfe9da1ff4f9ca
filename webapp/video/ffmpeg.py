"""The one ffmpeg call that turns stills, narration and subtitles into an MP4."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from webapp.video.filtergraph import (
    AUDIO_RATE,
    clip_frames,
    crossfade_frames,
    escape_filter_path,
    joined,
    moving_still_chain,
    music_chains,
    subtitles_filter,
)
from webapp.video.formats import FPS, VideoFormat
from webapp.video.motion import SceneMedia, clip_chain, picture_chain
from webapp.video.music import track_chains, track_input_args
from webapp.video.probe import MediaInfo, probe
from webapp.video.process import FfmpegError, ffmpeg_exe, run_ffmpeg

# Re-exported so callers find the whole ffmpeg toolbox in one module.
__all__ = [
    "AssemblyPlan",
    "FfmpegError",
    "MediaInfo",
    "SceneMedia",
    "assemble_command",
    "escape_filter_path",
    "ffmpeg_exe",
    "frame_counts",
    "partial_path",
    "probe",
    "run_assembly",
    "run_ffmpeg",
]


@dataclass
class AssemblyPlan:
    """Everything one render needs: stills with their durations, audio, subtitles, music.

    `scenes`, when given, has one entry per frame: None keeps that scene's text still
    (frames[i]); a SceneMedia shows a picture or a clip instead (frames[i] is then not
    read). `music_track` replaces the synthesized pad with an uploaded track, at
    music_level (0 still means no music)."""

    frames: list[Path]
    durations: list[float]
    narration: Path
    output: Path
    fmt: VideoFormat
    soft_subtitles: Path | None = None  # an .srt, muxed as a mov_text track
    burn_subtitles: Path | None = None  # an .ass, drawn into the picture by libass
    fonts_dir: Path | None = None
    music_level: int = 0  # 0-100; 0 means no music
    scenes: list[SceneMedia | None] | None = None
    music_track: Path | None = None

    @property
    def total_seconds(self) -> float:
        """The length of the video: the sum of the scene durations."""
        return sum(self.durations)


def partial_path(output: Path) -> Path:
    """Where a render is written before the rename that publishes it."""
    output = Path(output)
    return output.with_name(f"{output.stem}.partial{output.suffix}")


def assemble_command(plan: AssemblyPlan) -> list[str]:
    """The ffmpeg argument list (no shell) that renders the plan to its partial path."""
    _check(plan)
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    inputs, sources = _scene_inputs(plan)
    narration = len(inputs)
    inputs.append(["-i", str(Path(plan.narration).absolute())])
    if _uploaded_music(plan):
        inputs.append(track_input_args(plan.music_track))
    if plan.soft_subtitles is not None:
        inputs.append(["-i", str(Path(plan.soft_subtitles).absolute())])
    for options in inputs:
        args += options
    args += ["-filter_complex", ";".join(_graph(plan, sources, narration))]
    args += ["-map", "[vout]", "-map", "[aout]"]
    if plan.soft_subtitles is not None:
        args += ["-map", f"{len(inputs) - 1}:s:0", "-c:s", "mov_text"]
    return args + _encoding(plan)


def frame_counts(durations: list[float]) -> list[int]:
    """How many video frames each scene gets (at least one)."""
    return [max(1, round(duration * FPS)) for duration in durations]


def run_assembly(plan: AssemblyPlan, on_progress: Callable[[float], None] | None = None) -> None:
    """Render the plan; the output appears, complete, only when ffmpeg succeeded."""
    partial = partial_path(plan.output)
    try:
        run_ffmpeg(
            assemble_command(plan), total_seconds=plan.total_seconds, on_progress=on_progress
        )
        os.replace(partial, plan.output)
    finally:
        partial.unlink(missing_ok=True)


def _scene_media(plan: AssemblyPlan) -> list[SceneMedia | None]:
    return list(plan.scenes) if plan.scenes is not None else [None] * len(plan.frames)


def _uploaded_music(plan: AssemblyPlan) -> bool:
    return plan.music_track is not None and plan.music_level > 0


def _clips(plan: AssemblyPlan) -> tuple[list[int], int, list[int]]:
    """Each scene's frame count, the cross-fade's frames, each scene's clip length."""
    counts = frame_counts(plan.durations)
    fade = crossfade_frames(counts)
    return counts, fade, clip_frames(counts, fade)


def _scene_inputs(plan: AssemblyPlan) -> tuple[list[list[str]], list[tuple[int, int]]]:
    """Each input's options, and each scene's (media input, overlay input or -1)."""
    inputs: list[list[str]] = []
    sources = []
    for frame, media in zip(plan.frames, _scene_media(plan), strict=True):
        if media is None:  # each still is read once; the graph repeats it
            sources.append((len(inputs), -1))
            inputs.append(["-framerate", str(FPS), "-i", str(Path(frame).absolute())])
        else:
            sources.append((len(inputs), len(inputs) + 1))
            inputs += [media.input_args(), ["-i", str(Path(media.overlay).absolute())]]
    return inputs, sources


def _scene_chain(i: int, media: SceneMedia | None, source: tuple[int, int], frames: int,
                 fmt: VideoFormat) -> str:
    if media is None:
        return moving_still_chain(i, frames, fmt, i, source=source[0])
    if media.kind == "picture":
        return picture_chain(source[0], source[1], i, frames, fmt, i)
    return clip_chain(source[0], source[1], i, frames, fmt)


def _graph(plan: AssemblyPlan, sources: list[tuple[int, int]], narration: int) -> list[str]:
    counts, fade, clips = _clips(plan)
    chains = [_scene_chain(i, media, source, frames, plan.fmt) for i, (media, source, frames)
              in enumerate(zip(_scene_media(plan), sources, clips, strict=True))]
    chains.append(joined(counts, fade))
    video = "[joined]null"
    if plan.burn_subtitles is not None:
        video += "," + subtitles_filter(plan.burn_subtitles, plan.fonts_dir)
    # libass blends onto the BT.709 yuv420p frames directly (checked: same pixels as in RGB).
    chains.append(video + ",format=yuv420p[vout]")
    total = plan.total_seconds
    voice = f"[{narration}:a]aresample={AUDIO_RATE},apad=whole_dur={total:.6f}"
    if plan.music_level == 0:
        return [*chains, voice + "[aout]"]
    if _uploaded_music(plan):
        return [
            *chains,
            voice + ",asplit=2[voice][key]",
            *track_chains(narration + 1, total, plan.music_level),
            "[voice][music]amix=inputs=2:normalize=0:duration=first[aout]",
        ]
    return [
        *chains,
        voice + "[voice]",
        *music_chains(total, plan.music_level),
        "[voice][music]amix=inputs=2:normalize=0:duration=first[aout]",
    ]


def _encoding(plan: AssemblyPlan) -> list[str]:
    video = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
    # Tags matching the graph's BT.709 conversion, so players pick the same matrix.
    colour = ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]
    colour += ["-color_range", "tv"]
    audio = ["-c:a", "aac", "-b:a", "160k", "-ar", str(AUDIO_RATE), "-ac", "2"]
    # -t, not -shortest: with a subtitle input -shortest cuts the video at the last cue.
    timing = ["-r", str(FPS), "-t", f"{plan.total_seconds:.6f}"]
    output = ["-movflags", "+faststart", "-progress", "pipe:1", "-nostats", "-y", "-f", "mp4"]
    partial = str(partial_path(plan.output).absolute())
    return [*video, *colour, *audio, *timing, *output, partial]


def _check(plan: AssemblyPlan) -> None:
    if not plan.frames or len(plan.frames) != len(plan.durations):
        raise ValueError(
            f"A plan needs one duration per frame: got {len(plan.frames)} "
            f"frames and {len(plan.durations)} durations"
        )
    if any(d <= 0 for d in plan.durations):
        raise ValueError(f"Scene durations must be positive: {plan.durations}")
    if plan.scenes is not None and len(plan.scenes) != len(plan.frames):
        raise ValueError(f"A plan's scenes need one entry per frame: got {len(plan.scenes)} "
                         f"for {len(plan.frames)} frames")
    if not 0 <= plan.music_level <= 100:
        raise ValueError(f"music_level must be between 0 and 100, got {plan.music_level}")
