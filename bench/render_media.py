"""What uploaded media cost a render: the same minute of narration and burned captions
assembled twice in one run, as eight text scenes and as a mix of four picture scenes, two
clip scenes and two text scenes over an uploaded music track.

Prints each assembly's wall time, their ratio, the peak memory of the ffmpeg process
(RSS, sampled every 0.2 s) and the time Pillow takes to draw the four picture scenes and
two clip overlays (what the render-scenes stage would add). The media are made here:
detailed pictures (a Mandelbrot set over a gradient, with fine grain), a 4 s portrait
clip (looped) and a 12 s 1080p clip (cut) at a phone's bit rates, a 20 s track (looped).

Usage: python bench/render_media.py [--voice piper:joe] [--formats landscape-720,...]
(bench/render.py --media runs the same comparison on its pipeline's own narration.)
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
from PIL import Image, ImageChops, ImageFilter  # noqa: E402

from webapp.video.ffmpeg import AssemblyPlan, SceneMedia, probe, run_assembly  # noqa: E402
from webapp.video.formats import FORMATS, VideoFormat  # noqa: E402
from webapp.video.frames import render_scene, save_png  # noqa: E402
from webapp.video.media_frames import (  # noqa: E402
    render_clip_overlay,
    render_picture_scene,
    save_jpeg,
)
from webapp.video.process import ffmpeg_exe  # noqa: E402
from webapp.video.script import Scene  # noqa: E402
from webapp.video.themes import FONTS_DIR, THEMES  # noqa: E402

MIX = "pcptpcpt"  # picture, clip, text: the order of the eight scenes
THEME = THEMES["midnight"]


@dataclass
class Compared:
    """One format's two assemblies."""

    text_seconds: float
    media_seconds: float
    text_peak: int
    media_peak: int
    drawing_seconds: float
    text_cpu: float = 0.0  # the ffmpeg process's user + system seconds
    media_cpu: float = 0.0


class ChildPeak(threading.Thread):
    """The largest RSS of this process's children (the ffmpeg of a render)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self.running = 0, True

    def run(self) -> None:
        me = psutil.Process()
        while self.running:
            with contextlib.suppress(psutil.Error):  # a child may end while it is read
                self.peak = max(self.peak, sum(c.memory_info().rss for c in me.children()))
            time.sleep(0.2)


def make_media(folder: Path) -> dict[str, Path]:
    """Pictures, clips and a music track for the mix (a few seconds, not timed)."""
    folder.mkdir(parents=True, exist_ok=True)
    media = {}
    for i, size in enumerate(((1920, 1280), (1080, 1620), (2400, 1600), (1600, 1200))):
        media[f"picture{i}"] = folder / f"picture{i}.jpg"
        _picture(size, i).save(media[f"picture{i}"], quality=90)
    # Clips at a phone's bit rate, with a little grain, as a camera makes them.
    clips = (("portrait", "720x1280", 4, "5M"), ("landscape", "1920x1080", 12, "12M"))
    for name, size, seconds, rate in clips:
        media[name] = folder / f"{name}.mp4"
        _ffmpeg(["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30,noise=alls=3:allf=t",
                 "-f", "lavfi", "-i", "sine=frequency=500", "-t", str(seconds),
                 "-c:v", "libx264", "-preset", "veryfast", "-b:v", rate, "-pix_fmt", "yuv420p",
                 "-c:a", "aac", str(media[name])])
    media["music"] = folder / "music.mp3"
    _ffmpeg(["-f", "lavfi", "-i", "sine=frequency=196:duration=20", "-f", "lavfi",
             "-i", "sine=frequency=294:duration=20", "-filter_complex", "amix=inputs=2",
             "-ac", "2", "-c:a", "libmp3lame", str(media["music"])])
    return media


def _picture(size: tuple[int, int], seed: int) -> Image.Image:
    """Detail at every scale, like a photograph: a Mandelbrot set, clouds, fine grain."""
    shape = Image.effect_mandelbrot(size, (-2.2 + seed * 0.3, -1.2, 0.8, 1.2), 100)
    sky = Image.linear_gradient("L").resize(size)
    grain = Image.effect_noise(size, 10)
    clouds = Image.effect_noise((size[0] // 24, size[1] // 24), 30).resize(
        size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(6))
    green = ImageChops.add(ImageChops.add(sky, grain, 2, -60), clouds, 2, -50)
    rgb = Image.merge("RGB", (ImageChops.add(shape, clouds, 2, -40), green, shape.rotate(180)))
    return rgb.filter(ImageFilter.GaussianBlur(0.8))


def compare(narration: Path, burn: Path | None, fmt: VideoFormat, media: dict[str, Path],
            folder: Path, music_level: int = 20) -> Compared:
    """Assemble the narration as eight text scenes, then as the mix; time both."""
    folder.mkdir(parents=True, exist_ok=True)
    total = probe(narration).duration
    durations = [total / len(MIX)] * len(MIX)
    frames = []
    for i in range(1, len(MIX) + 1):
        frames.append(folder / f"text-{i}.png")
        save_png(render_scene(Scene(f"Scene {i}", ""), index=i, total=len(MIX), title="Bench",
                              fmt=fmt, theme=THEME, bleed=True), frames[-1])
    plan = AssemblyPlan(frames=frames, durations=durations, narration=narration,
                        output=folder / "text.mp4", fmt=fmt, burn_subtitles=burn,
                        fonts_dir=FONTS_DIR, music_level=music_level)
    started = time.perf_counter()
    scenes = _mix(media, fmt, folder)
    drawing = time.perf_counter() - started
    text_seconds, text_peak, text_cpu = _timed(plan)
    mixed = replace(plan, output=folder / "mix.mp4", scenes=scenes, music_track=media["music"])
    media_seconds, media_peak, media_cpu = _timed(mixed)
    return Compared(text_seconds, media_seconds, text_peak, media_peak, drawing, text_cpu,
                    media_cpu)


def report(fmt: str, row: Compared) -> None:
    print(f"  {fmt}: text-only assembly {row.text_seconds:.2f} s ({row.text_peak / 1048576:.0f}"
          f" MiB), media mix {row.media_seconds:.2f} s ({row.media_peak / 1048576:.0f} MiB),"
          f" ratio {row.media_seconds / row.text_seconds:.2f}; ffmpeg CPU {row.text_cpu:.1f} s"
          f" and {row.media_cpu:.1f} s; drawing the media scenes {row.drawing_seconds:.2f} s")


def _mix(media: dict[str, Path], fmt: VideoFormat, folder: Path) -> list[SceneMedia | None]:
    scenes: list[SceneMedia | None] = []
    pictures = iter(sorted(k for k in media if k.startswith("picture")))
    clips = iter(("portrait", "landscape"))
    for i, kind in enumerate(MIX, 1):
        scene = Scene(f"Scene {i}: a heading of some length", "")
        overlay = folder / f"overlay-{i}.png"
        if kind == "p":
            still = render_picture_scene(media[next(pictures)], scene, index=i, total=len(MIX),
                                         title="Bench", fmt=fmt, theme=THEME)
            background = folder / f"picture-{i}.jpg"
            save_jpeg(still.background, background)
            save_png(still.overlay, overlay)
            scenes.append(SceneMedia("picture", background, overlay))
        elif kind == "c":
            clip = media[next(clips)]
            save_png(render_clip_overlay(scene, index=i, total=len(MIX), title="Bench", fmt=fmt,
                                         theme=THEME), overlay)
            scenes.append(SceneMedia("clip", clip, overlay, probe(clip).duration))
        else:
            scenes.append(None)
    return scenes


def _timed(plan: AssemblyPlan) -> tuple[float, int, float]:
    """Wall seconds, peak RSS and CPU seconds of the plan's assembly."""
    peak = ChildPeak()
    peak.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run_assembly(plan)
    took = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak.running = False
    peak.join()
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return took, peak.peak, cpu


def _ffmpeg(args: list[str]) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
                    *args], check=True, timeout=300)


def _narrate(voice: str, folder: Path, fmt: VideoFormat) -> tuple[Path, Path]:
    """The bench script's narration (render.py's SCRIPT) and its burned captions."""
    from render import SCRIPT

    from webapp.video.audio import build_narration, write_wav
    from webapp.video.captions import Captions
    from webapp.video.script import split_sentences
    from webapp.video.settings import ProviderSettings
    from webapp.video.subtitles import to_ass
    from webapp.video.themes import FONTS
    from webapp.video.voices import get_synthesizer

    synth = get_synthesizer(voice, ProviderSettings())
    narration = build_narration([[(s, synth.synthesize(s)) for s in split_sentences(
        scene["narration"])] for scene in SCRIPT], 30)
    write_wav(folder / "narration.wav", narration.audio)
    captions = Captions("highlight")
    (folder / "burn.ass").write_text(to_ass(
        narration.cues, width=fmt.width, height=fmt.height, font_family=FONTS["sans"].family,
        captions=captions, text_colour="#ffffff", accent_colour=THEME.accent), encoding="utf-8")
    return folder / "narration.wav", folder / "burn.ass"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voice", default="piper:joe")
    parser.add_argument("--formats", default="landscape-720")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="cutroom-bench-media-"))
    media = make_media(base / "media")
    for key in args.formats.split(","):
        fmt = FORMATS[key]
        (base / key).mkdir()
        narration, burn = _narrate(args.voice, base / key, fmt)
        report(key, compare(narration, burn, fmt, media, base / key))


if __name__ == "__main__":
    main()
