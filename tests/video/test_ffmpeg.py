"""The ffmpeg layer with the real bundled binary: escaping, one full render, failures, kills."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from dataclasses import replace
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.media import extract_frame
from webapp.video.audio import build_narration, write_wav
from webapp.video.ffmpeg import (
    AssemblyPlan,
    FfmpegError,
    assemble_command,
    escape_filter_path,
    ffmpeg_exe,
    frame_counts,
    partial_path,
    probe,
    run_assembly,
    run_ffmpeg,
)
from webapp.video.formats import FORMATS
from webapp.video.frames import render_scene, save_png
from webapp.video.probe import parse_probe
from webapp.video.process import progress_fractions
from webapp.video.script import Scene
from webapp.video.settings import ProviderSettings
from webapp.video.subtitles import to_ass, to_srt
from webapp.video.themes import FONTS, THEMES
from webapp.video.voices import get_synthesizer

FMT = FORMATS["landscape-720"]
# Every character that means something in a filter graph, in the folder holding the inputs.
NASTY = "we'ird: [dir], x;y\\z"
SENTENCES = [["Hello there."], ["{\\fs200} literal."]]


class Rendered:
    """The one real render the tests below inspect."""

    def __init__(self, plan: AssemblyPlan, progress: list[float], stills: list[Path]) -> None:
        self.plan, self.progress, self.stills = plan, progress, stills


def long_encode(tmp_path: Path) -> list[str]:
    """An encode that takes far longer than the tests wait for it."""
    return [
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-f",
        "lavfi",
        "-i",
        "testsrc=size=1280x720:rate=30",
        "-t",
        "120",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-progress",
        "pipe:1",
        "-nostats",
        "-y",
        str(tmp_path / "long.mp4"),
    ]


def ffmpeg_children() -> list[int]:
    """Processes whose parent is this test process and whose command is ffmpeg."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if ppid == os.getpid() and b"ffmpeg" in command:
            children.append(int(entry.name))
    return children


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    folder = tmp_path_factory.mktemp("render") / NASTY
    fonts = folder / "fonts ['x']"
    fonts.mkdir(parents=True)
    for font in FONTS["sans"].regular, FONTS["sans"].bold:
        (fonts / font.name).write_bytes(font.read_bytes())
    voice = get_synthesizer("silent", ProviderSettings())
    narration = build_narration(
        [[(s, voice.synthesize(s)) for s in scene] for scene in SENTENCES], 30
    )
    write_wav(folder / "narration.wav", narration.audio)
    stills = []
    for index, heading in enumerate(("First scene", "Second scene"), 1):
        stills.append(folder / f"scene-{index}.png")
        image = render_scene(
            Scene(heading, ""),
            index=index,
            total=2,
            title="Test",
            fmt=FMT,
            theme=THEMES["midnight"],
            bleed=True,  # as the render-scenes stage draws them, for motion
        )
        save_png(image, stills[-1])
    (folder / "subs.srt").write_text(to_srt(narration.cues), encoding="utf-8")
    ass = to_ass(
        narration.cues,
        width=FMT.width,
        height=FMT.height,
        font_family=FONTS["sans"].family,
        font_size=40,
        text_colour="#ffffff",
    )
    (folder / "burn.ass").write_text(ass, encoding="utf-8")
    plan = AssemblyPlan(
        frames=stills,
        durations=narration.scene_durations,
        narration=folder / "narration.wav",
        output=folder / "video.mp4",
        fmt=FMT,
        soft_subtitles=folder / "subs.srt",
        burn_subtitles=folder / "burn.ass",
        fonts_dir=fonts,
        music_level=30,
    )
    progress: list[float] = []
    run_assembly(plan, on_progress=progress.append)
    return Rendered(plan, progress, stills)


def test_render_streams_and_duration(rendered: Rendered) -> None:
    plan = rendered.plan
    assert 2.5 < plan.total_seconds < 3.5
    info = probe(plan.output)
    assert abs(info.duration - plan.total_seconds) < 0.1
    assert (info.width, info.height) == (1280, 720)
    assert (info.video_codec, info.audio_codec, info.subtitle_codec) == ("h264", "aac", "mov_text")
    assert (info.pix_fmt, info.color_space) == ("yuv420p", "bt709")
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(plan.output))
    assert frames == sum(frame_counts(plan.durations))
    assert not partial_path(plan.output).exists()


def test_render_reports_increasing_progress_ending_at_one(rendered: Rendered) -> None:
    assert rendered.progress
    assert rendered.progress == sorted(set(rendered.progress))
    assert all(0 < f <= 1 for f in rendered.progress)
    assert rendered.progress[-1] == pytest.approx(1.0, abs=0.01)


@pytest.fixture(scope="module")
def unburned(rendered: Rendered) -> Path:
    """The same plan rendered without burned subtitles."""
    output = rendered.plan.output.with_name("plain.mp4")
    run_assembly(replace(rendered.plan, burn_subtitles=None, output=output))
    return output


def _frame(video: Path, at: float, folder: Path) -> Image.Image:
    path = folder / f"{video.stem}-{at:.3f}.png"
    extract_frame(video, at, path)
    with Image.open(path) as frame:
        return frame.convert("RGB")


def _difference(a: Image.Image, b: Image.Image, box=None) -> float:
    """Mean absolute difference (0-255) of two frames, over `box` or all of them."""
    diff = ImageChops.difference(a, b).convert("L")
    return ImageStat.Stat(diff.crop(box) if box else diff).mean[0]


ABOVE_SUBTITLES = (0, 0, FMT.width, round(FMT.height * 0.75))


def test_render_burns_subtitles_only_at_the_bottom(rendered: Rendered, unburned: Path,
                                                   tmp_path: Path) -> None:
    frame = _frame(rendered.plan.output, 0.6, tmp_path)  # during the first cue
    plain = _frame(unburned, 0.6, tmp_path)
    diff = ImageChops.difference(frame, plain).convert("L")
    top = ImageStat.Stat(diff.crop(ABOVE_SUBTITLES)).mean[0]
    bottom = diff.crop((0, round(FMT.height * 0.8), FMT.width, FMT.height))
    assert top < 3  # only compression noise over the scene itself
    assert bottom.point(lambda v: 255 if v > 100 else 0).getbbox() is not None  # white text


def test_each_scene_moves_gently_and_cross_fades_into_the_next(rendered: Rendered,
                                                                unburned: Path,
                                                                tmp_path: Path) -> None:
    first, second = rendered.plan.durations[0], rendered.plan.durations[1]
    # Three moments of the first scene, away from the cross-fade: all different, but only
    # a little (a slow drift, not a cut).
    moments = [_frame(unburned, at, tmp_path) for at in (0.05, first * 0.4, first * 0.75)]
    for a, b in zip(moments, moments[1:], strict=False):
        assert 0.3 < _difference(a, b, ABOVE_SUBTITLES) < 20
    # At the cut, both scenes show at once: the frame differs from each scene's own frames
    # around it by less than they differ from each other.
    before = moments[-1]
    after = _frame(unburned, first + second * 0.6, tmp_path)
    cut = _frame(unburned, first, tmp_path)
    apart = _difference(before, after, ABOVE_SUBTITLES)
    assert apart > 5
    assert _difference(cut, before, ABOVE_SUBTITLES) < apart
    assert _difference(cut, after, ABOVE_SUBTITLES) < apart


def test_render_soft_subtitles_keep_user_text_literal(rendered: Rendered) -> None:
    data = rendered.plan.output.read_bytes()
    assert b"Hello there." in data
    # ffmpeg's SRT reader would drop "{\fs200}"; the word joiners from to_srt keep it.
    assert "{\u2060\\\u2060fs200} literal.".encode() in data


def test_render_mixes_music_under_silent_narration(rendered: Rendered) -> None:
    result = subprocess.run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-i",
            str(rendered.plan.output),
            "-map",
            "0:a",
            "-af",
            "volumedetect",
            "-f",
            "null",
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    peak = float(result.stderr.split("max_volume:")[1].split("dB")[0])
    assert -60 < peak < -10  # audible, but a quiet bed


def test_escape_filter_path() -> None:
    path = Path("/tmp/a'b:c,d[e]f;g\\h")
    assert escape_filter_path(path) == "/tmp/a\\\\\\'b\\\\:c\\,d\\[e\\]f\\;g\\\\\\\\h"
    assert escape_filter_path(Path("/plain/path.ass")) == "/plain/path.ass"


def _two_frame_plan(tmp_path: Path) -> AssemblyPlan:
    return AssemblyPlan(
        frames=[tmp_path / "a.png", tmp_path / "b.png"],
        durations=[1.0, 0.5],
        narration=tmp_path / "n.wav",
        output=tmp_path / "out.mp4",
        fmt=FMT,
    )


def test_assemble_command_shape(tmp_path: Path) -> None:
    plan = _two_frame_plan(tmp_path)
    args = assemble_command(plan)
    assert all(isinstance(a, str) for a in args) and args[0] == ffmpeg_exe()
    assert args[args.index("-t", len(args) - 20) + 1] == "1.500000"
    assert "-shortest" not in args and "mov_text" not in args
    assert "sine=" not in args[args.index("-filter_complex") + 1]
    assert args[-1] == str(tmp_path / "out.partial.mp4")
    for flag in ("-movflags", "-colorspace", "-color_primaries", "-color_trc", "-progress"):
        assert flag in args
    graph = args[args.index("-filter_complex") + 1]
    # 30 and 15 frames, each with half of a 6-frame cross-fade at the cut (33 and 18).
    assert "loop=loop=32:size=1" in graph and "loop=loop=17:size=1" in graph
    # Only the 6 frames around the cut go through the cross-fade; the rest are concatenated.
    assert "[t0][h1]xfade=transition=fade:duration=0.200000:offset=0[x1]" in graph
    assert "[t0in]trim=start_frame=27:end_frame=33" in graph
    assert "[b0][x1][b1]concat=n=3" in graph
    assert graph.count("out_color_matrix=bt709") == 2
    music = assemble_command(replace(plan, music_level=100))
    assert "amix=inputs=2:normalize=0" in music[music.index("-filter_complex") + 1]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"durations": [1.0]}, "one duration per frame"),
        ({"frames": [], "durations": []}, "one"),
        ({"durations": [1.0, 0]}, "positive"),
        ({"music_level": 101}, "between 0 and 100"),
    ],
)
def test_assemble_command_rejects_bad_plans(tmp_path: Path, change: dict, problem: str) -> None:
    plan = _two_frame_plan(tmp_path)
    with pytest.raises(ValueError, match=problem):
        assemble_command(replace(plan, **change))


def test_failed_render_raises_with_stderr_and_leaves_no_partial(tmp_path: Path) -> None:
    write_wav(tmp_path / "n.wav", get_synthesizer("silent", ProviderSettings()).synthesize("x"))
    plan = AssemblyPlan(
        frames=[tmp_path / "missing.png"],
        durations=[0.6],
        narration=tmp_path / "n.wav",
        output=tmp_path / "out.mp4",
        fmt=FMT,
    )
    partial_path(plan.output).write_bytes(b"left over from a crashed render")
    with pytest.raises(FfmpegError, match="No such file or directory") as caught:
        run_assembly(plan)
    assert "missing.png" in str(caught.value)
    assert not plan.output.exists() and not partial_path(plan.output).exists()


def test_progress_callback_error_kills_ffmpeg(tmp_path: Path) -> None:
    def stop(fraction: float) -> None:
        raise RuntimeError("cancelled by the job")

    with pytest.raises(RuntimeError, match="cancelled"):
        run_ffmpeg(long_encode(tmp_path), total_seconds=120, on_progress=stop)
    assert ffmpeg_children() == []


def test_signal_raised_timeout_kills_ffmpeg(tmp_path: Path) -> None:
    """Like RQ's job timeout: an exception raised by a signal handler in the main thread."""

    class JobTimeout(Exception):
        pass

    def on_signal(signum: int, frame: object) -> None:
        raise JobTimeout

    previous = signal.signal(signal.SIGUSR1, on_signal)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1))
    try:
        timer.start()
        with pytest.raises(JobTimeout):
            run_ffmpeg(long_encode(tmp_path), total_seconds=120)
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert ffmpeg_children() == []


def test_probe_errors_and_parsing(tmp_path: Path) -> None:
    with pytest.raises(FfmpegError, match="No such file"):
        probe(tmp_path / "nothing.mp4")
    (tmp_path / "noise.mp4").write_bytes(os.urandom(2048))
    with pytest.raises(FfmpegError, match="could not read"):
        probe(tmp_path / "noise.mp4")
    sample = (
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':\n"
        "  Duration: 01:02:03.45, start: 0.000000, bitrate: 120 kb/s\n"
        "  Stream #0:0[0x1](und): Video: hevc (Main) (hvc1 / 0x31637668), "
        "yuv420p10le(tv, bt2020nc/bt2020/smpte2084), 3840x2160 [SAR 1:1 DAR 16:9], 25 fps\n"
        "  Stream #0:1[0x2](eng): Audio: opus, 48000 Hz, stereo, fltp\n"
    )
    info = parse_probe(sample)
    assert info.duration == pytest.approx(3723.45)
    assert (info.width, info.height, info.video_codec) == (3840, 2160, "hevc")
    assert (info.pix_fmt, info.color_space) == ("yuv420p10le", "bt2020nc")
    assert (info.audio_codec, info.subtitle_codec) == ("opus", None)


def test_probe_reads_a_wav(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", get_synthesizer("silent", ProviderSettings()).synthesize("abc"))
    info = probe(tmp_path / "a.wav")
    assert info.audio_codec == "pcm_s16le" and info.video_codec is None
    assert info.duration == pytest.approx(0.6, abs=0.01)


def test_progress_fractions() -> None:
    lines = [
        "frame=1",
        "out_time_us=N/A",
        "out_time_us=500000",
        "progress=continue",
        "out_time_ms=500000",
        "out_time_us=1500000",
        "out_time_us=9000000",
        "progress=end",
    ]
    assert list(progress_fractions(lines, 2.0)) == [0.25, 0.75, 1.0]
    assert list(progress_fractions(["progress=end"], 0)) == [1.0]
