"""Scenes of uploaded pictures and clips, and an uploaded music track, rendered by the real
bundled ffmpeg from media made at run time (tests/video/motion_media.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import imageio_ffmpeg
import pytest
from PIL import Image, ImageChops, ImageStat

from tests.media import frame_image
from tests.video import motion_media as m
from webapp.video.ffmpeg import (
    AssemblyPlan,
    SceneMedia,
    assemble_command,
    frame_counts,
    probe,
    run_assembly,
)
from webapp.video.filtergraph import music_gain_db
from webapp.video.formats import FORMATS, FPS, VideoFormat
from webapp.video.motion import picture_size

HD = FORMATS["landscape-720"]
SMALL = VideoFormat("small", "small", 320, 180)
NASTY = "we'ird: [dir], x;y"


@dataclass
class Media:
    picture: Path
    portrait_clip: Path  # 2 s, 360x640
    long_clip: Path  # 10 s
    music: Path  # 3 s


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    folder = tmp_path_factory.mktemp("media") / NASTY
    folder.mkdir()
    return Media(m.picture(folder / "picture.png"),
                 m.clip(folder / "portrait.mp4", (360, 640), 2),
                 m.clip(folder / "long.mp4", (320, 180), 10),
                 m.music(folder / "music.mp3", 3))


def frame_at(video: Path, at: float, folder: Path) -> Image.Image:
    return frame_image(video, at, folder, "L")


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference (0-255) above the caption zone."""
    box = (0, 0, a.width, round(a.height * 0.75))
    return ImageStat.Stat(ImageChops.difference(a, b).crop(box)).mean[0]


def assert_fills_the_frame(frame: Image.Image) -> None:
    """No black bars: the bottom row and both side columns (below the top scrims) show
    the picture, never a uniform dark line."""
    w, h = frame.size
    for box in ((0, h - 2, w, h), (0, h // 2, 2, h), (w - 2, h // 2, w, h)):
        stat = ImageStat.Stat(frame.crop(box))
        assert stat.mean[0] > 40, (box, stat.mean)


def frame_total(video: Path) -> int:
    return imageio_ffmpeg.count_frames_and_secs(str(video))[0]


def test_a_picture_scene_pans_and_zooms_and_is_never_letterboxed(media: Media,
                                                                 tmp_path: Path) -> None:
    scene = m.picture_media(tmp_path, media.picture, 1, 1, HD)
    plan = m.plan(tmp_path, HD, [scene], [3.0])
    run_assembly(plan)
    moments = [frame_at(plan.output, at, tmp_path) for at in (0.1, 1.5, 2.9)]
    for a, b in ((0, 1), (1, 2), (0, 2)):
        assert difference(moments[a], moments[b]) > 3, (a, b)
    for frame in moments:
        assert frame.size == (HD.width, HD.height)
        assert_fills_the_frame(frame)
    assert frame_total(plan.output) == 90


def test_a_picture_moves_smoothly_without_whole_pixel_steps(tmp_path: Path) -> None:
    """A soft dot on the picture, tracked to a fraction of a pixel: its path bends by at
    most about half a pixel between frames (a window stepping by whole pixels jumps by one
    or more; measured: 1.5 px for zoompan on a picture of the video's size)."""
    size = (HD.width, HD.height)
    dot = m.dot_picture(tmp_path / "dot.png", picture_size(HD), (0.3, 0.4))
    clear = tmp_path / "clear.png"
    Image.new("RGBA", size, (0, 0, 0, 0)).save(clear)
    plan = m.plan(tmp_path, HD, [SceneMedia("picture", dot, clear)], [3.0])
    run_assembly(plan)
    frames = m.gray_frames(plan.output, size)
    assert len(frames) == 90
    path, near = [], (0.3 * HD.width, 0.4 * HD.height)
    for frame in frames:
        near = m.centroid(frame, size, near, 50)
        path.append(near)
    for axis in (0, 1):
        line = [p[axis] for p in path]
        bends = [abs(a - 2 * b + c) for a, b, c in zip(line, line[1:], line[2:], strict=False)]
        assert max(bends) < 0.6, (axis, max(bends))
    assert abs(path[-1][0] - path[0][0]) > 20  # it did move


def test_a_short_portrait_clip_loops_to_fill_a_longer_scene(media: Media,
                                                            tmp_path: Path) -> None:
    scene = m.clip_media(tmp_path, media.portrait_clip, 1, 1, HD)
    plan = m.plan(tmp_path, HD, [scene], [5.0])
    run_assembly(plan)
    assert frame_total(plan.output) == 150
    assert abs(probe(plan.output).duration - 5.0) < 1 / FPS
    first, later, looped = (frame_at(plan.output, at, tmp_path) for at in (0.5, 1.5, 2.5))
    assert difference(first, later) > 2  # the clip plays...
    assert difference(first, looped) < 1.5  # ...and starts again after its 2 s
    for frame in first, later, looped:
        assert frame.size == (HD.width, HD.height)
        assert_fills_the_frame(frame)  # a portrait clip covers a landscape frame
    assert m.rms_db(plan.output, 0, 5) < -80  # the clip's own sound is dropped


def test_a_long_clip_is_cut_to_its_scene(media: Media, tmp_path: Path) -> None:
    clip = m.clip_media(tmp_path, media.long_clip, 1, 2, SMALL)
    plan = m.plan(tmp_path, SMALL, [clip, None], [3.0, 2.0])
    run_assembly(plan)
    assert frame_total(plan.output) == 150
    # The text scene (dark) follows the clip (bright bars) at 3 s, not at the clip's end.
    assert ImageStat.Stat(frame_at(plan.output, 2.0, tmp_path)).mean[0] > 80
    assert ImageStat.Stat(frame_at(plan.output, 4.2, tmp_path)).mean[0] < 60


def test_a_clip_whose_sound_outlasts_its_pictures_still_fills_its_scene(
        tmp_path: Path) -> None:
    short = tmp_path / "short.mp4"  # 1 s of pictures, 3 s of sound: "Duration: 3.0"
    m.run_ffmpeg_quietly(["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=1",
                          "-f", "lavfi", "-i", "sine=duration=3", "-c:v", "libx264",
                          "-preset", "ultrafast", "-c:a", "aac", "-y", str(short)])
    clip = m.clip_media(tmp_path, short, 1, 2, SMALL)
    assert clip.duration == pytest.approx(3.0, abs=0.1)
    plan = m.plan(tmp_path, SMALL, [clip, None], [2.5, 1.0])
    run_assembly(plan)
    assert frame_total(plan.output) == 105
    assert ImageStat.Stat(frame_at(plan.output, 2.1, tmp_path)).mean[0] > 80  # still the clip
    assert ImageStat.Stat(frame_at(plan.output, 3.3, tmp_path)).mean[0] < 60  # then the text


def test_uploaded_music_loops_fades_and_ducks_under_the_voice(media: Media,
                                                              tmp_path: Path) -> None:
    # Voice from 1 s to 3.5 s, then a pause; the 3 s track must loop to fill 8 s.
    length = m.narration(tmp_path / "voice.wav", [(1.0, False), (2.5, True), (4.5, False)])
    plan = m.plan(tmp_path, SMALL, [None, None], [length / 2] * 2,
                  narration=tmp_path / "voice.wav", music_level=100, music_track=media.music)
    args = assemble_command(plan)
    assert "sine=" not in args[args.index("-filter_complex") + 1]  # not the synthesized pad
    run_assembly(plan)
    level = m.rms_db(media.music, 0, 3) + music_gain_db(100)  # the track at the level
    speaking = m.rms_db(plan.output, 2.0, 1.3, lowpass=500)
    pause = m.rms_db(plan.output, 4.4, 1.4, lowpass=500)  # after the track's first end
    assert abs(pause - level) < 2  # the music goes on past its 3 s, at the project's level
    assert pause - speaking > 10  # and is ducked under the voice
    assert m.rms_db(plan.output, length - 1, 1, lowpass=500) > level - 20  # faded, to the end
    assert m.rms_db(plan.output, 2.0, 1.3) > speaking + 10  # the voice itself is there
    assert abs(probe(plan.output).duration - length) < 1 / FPS
    silent = replace(plan, music_level=0, output=tmp_path / "no-music.mp4")
    assert str(media.music.absolute()) not in assemble_command(silent)
    run_assembly(silent)
    assert m.rms_db(silent.output, 4.0, 3.0, lowpass=500) < -80  # level 0: no music


def test_pictures_clips_text_and_music_render_in_one_call_with_progress(
        media: Media, tmp_path: Path) -> None:
    folder = tmp_path / NASTY
    folder.mkdir()
    scenes = [m.picture_media(folder, media.picture, 1, 3, HD),
              m.clip_media(folder, media.portrait_clip, 2, 3, HD), None]
    length = m.narration(folder / "voice.wav", [(0.5, False), (4.0, True), (1.5, False)])
    plan = m.plan(folder, HD, scenes, [2.0, 2.2, length - 4.2],
                  narration=folder / "voice.wav", music_level=40, music_track=media.music)
    args = assemble_command(plan)
    graph = args[args.index("-filter_complex") + 1]
    # Media only ever as -i arguments, never inside the graph.
    assert NASTY not in graph and str(media.picture.parent) not in graph
    inputs = [args[i + 1] for i, arg in enumerate(args) if arg == "-i"]
    assert str(media.portrait_clip.absolute()) in inputs
    progress: list[float] = []
    run_assembly(plan, on_progress=progress.append)
    assert progress == sorted(set(progress)) and progress[-1] == pytest.approx(1.0, abs=0.01)
    assert len(progress) >= 2
    info = probe(plan.output)
    assert abs(info.duration - length) < 1 / FPS
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (
        1280, 720, "h264", "aac")
    assert frame_total(plan.output) == sum(frame_counts(plan.durations))


def test_a_plan_without_media_is_unchanged(tmp_path: Path) -> None:
    base = AssemblyPlan(frames=[tmp_path / "a.png", tmp_path / "b.png"], durations=[1.0, 2.0],
                        narration=tmp_path / "n.wav", output=tmp_path / "o.mp4", fmt=HD,
                        music_level=20)
    assert assemble_command(replace(base, scenes=[None, None])) == assemble_command(base)
    # A track given with music level 0 is not even read.
    assert assemble_command(replace(base, music_level=0, music_track=tmp_path / "t.mp3")) \
        == assemble_command(replace(base, music_level=0))


def test_bad_media_is_refused(tmp_path: Path) -> None:
    base = AssemblyPlan(frames=[tmp_path / "a.png"], durations=[1.0],
                        narration=tmp_path / "n.wav", output=tmp_path / "o.mp4", fmt=HD)
    with pytest.raises(ValueError, match="one entry per frame"):
        assemble_command(replace(base, scenes=[None, None]))
    with pytest.raises(ValueError, match="picture or a clip"):
        SceneMedia("audio", tmp_path / "x", tmp_path / "y")
    with pytest.raises(ValueError, match="duration must be positive"):
        SceneMedia("clip", tmp_path / "x", tmp_path / "y", 0.0)
