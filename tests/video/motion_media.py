"""Media for the motion tests, made at run time (Pillow and the bundled ffmpeg), and the
measures the tests read back from a render."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from tests.media import tone, wav_bytes
from webapp.video.ffmpeg import AssemblyPlan, SceneMedia, probe
from webapp.video.formats import VideoFormat
from webapp.video.frames import render_scene, save_png
from webapp.video.media_frames import render_clip_overlay, render_picture_scene, save_jpeg
from webapp.video.process import ffmpeg_exe
from webapp.video.script import Scene
from webapp.video.themes import THEMES

THEME = THEMES["midnight"]
VOICE_RATE = 22050
VOICE_HZ = 3000.0  # far above the test music's 220 Hz, so a low-pass keeps the music only
_RMS = re.compile(r"RMS level dB: (-?[\d.]+|-inf)")


def picture(path: Path, size: tuple[int, int] = (900, 600)) -> Path:
    """A picture with detail everywhere and nothing black: a gradient, circles and bars."""
    down = Image.linear_gradient("L").resize(size)
    across = Image.linear_gradient("L").rotate(90).resize(size)
    image = Image.merge("RGB", (down, Image.new("L", size, 120), across))
    draw = ImageDraw.Draw(image)
    w, h = size
    for i in range(12):
        x, y, r = (i * 137) % w, (i * 89) % h, 20 + (i * 23) % 70
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255 - i * 15, 60 + i * 12, 200))
    for i in range(0, w, 60):
        draw.rectangle((i, h // 2, i + 12, h // 2 + 80), fill=(250, 250, 60))
    image.save(path)
    return path


def dot_picture(path: Path, size: tuple[int, int], centre: tuple[float, float]) -> Path:
    """A grey picture with one soft white dot (its position can be measured to a fraction
    of a pixel) at `centre`, as fractions of the picture."""
    image = Image.new("L", size, 0)
    w, h = size
    x, y, r = centre[0] * w, centre[1] * h, w * 0.025
    ImageDraw.Draw(image).ellipse((x - r, y - r, x + r, y + r), fill=255)
    image.filter(ImageFilter.GaussianBlur(w * 0.012)).convert("RGB").save(path)
    return path


def clip(path: Path, size: tuple[int, int], seconds: float) -> Path:
    """A testsrc2 clip (colour bars, no black at its edges, a moving pattern) with a tone."""
    w, h = size
    run_ffmpeg_quietly([
        "-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate=25", "-f", "lavfi",
        "-i", "sine=frequency=1000", "-t", f"{seconds}", "-c:v", "libx264",
        "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-y", str(path)])
    return path


def music(path: Path, seconds: float) -> Path:
    """A 220 Hz sine as an MP3."""
    run_ffmpeg_quietly(["-f", "lavfi", "-i", f"sine=frequency=220:duration={seconds}",
                        "-af", "volume=0.5", "-ac", "2", "-c:a", "libmp3lame", "-y", str(path)])
    return path


def narration(path: Path, parts: list[tuple[float, bool]]) -> float:
    """A WAV of (seconds, spoken) parts: a VOICE_HZ tone when spoken, silence otherwise;
    returns its length."""
    samples = b"".join(tone(seconds, VOICE_RATE, frequency=VOICE_HZ) if spoken
                       else b"\0\0" * round(seconds * VOICE_RATE) for seconds, spoken in parts)
    path.write_bytes(wav_bytes(samples, VOICE_RATE))
    return sum(seconds for seconds, _ in parts)


def text_still(folder: Path, index: int, total: int, fmt: VideoFormat) -> Path:
    """A text scene's still, as the render-scenes stage draws it."""
    path = folder / f"text-{index}.png"
    save_png(render_scene(Scene(f"Text scene {index}", ""), index=index, total=total,
                          title="Motion", fmt=fmt, theme=THEME, bleed=True), path)
    return path


def picture_media(folder: Path, source: Path, index: int, total: int,
                  fmt: VideoFormat) -> SceneMedia:
    """A picture scene's media, drawn as the render-scenes stage would."""
    still = render_picture_scene(source, Scene(f"Picture scene {index}", ""), index=index,
                                 total=total, title="Motion", fmt=fmt, theme=THEME)
    background, overlay = folder / f"picture-{index}.jpg", folder / f"overlay-{index}.png"
    save_jpeg(still.background, background)
    save_png(still.overlay, overlay)
    return SceneMedia("picture", background, overlay)


def clip_media(folder: Path, source: Path, index: int, total: int,
               fmt: VideoFormat) -> SceneMedia:
    """A clip scene's media: the clip, its probed length and its overlay."""
    overlay = folder / f"overlay-{index}.png"
    save_png(render_clip_overlay(Scene(f"Clip scene {index}", ""), index=index, total=total,
                                 title="Motion", fmt=fmt, theme=THEME), overlay)
    return SceneMedia("clip", source, overlay, probe(source).duration)


def plan(folder: Path, fmt: VideoFormat, media: list[SceneMedia | None],
         durations: list[float], **options) -> AssemblyPlan:
    """A plan of these scenes over a silent narration of their length (unless given)."""
    if "narration" not in options:
        narration(folder / "silence.wav", [(sum(durations), False)])
        options["narration"] = folder / "silence.wav"
    frames = [text_still(folder, i, len(media), fmt) for i in range(1, len(media) + 1)]
    return AssemblyPlan(frames=frames, durations=durations, output=folder / "video.mp4",
                        fmt=fmt, scenes=media, **options)


def rms_db(video: Path, start: float, seconds: float, lowpass: float | None = None) -> float:
    """The RMS level (dBFS) of the video's sound from `start` for `seconds`, optionally
    through a steep low-pass (to hear the music without the voice)."""
    filters = f"lowpass=f={lowpass},lowpass=f={lowpass}," if lowpass else ""
    stderr = run_ffmpeg_quietly([
        "-ss", f"{start}", "-t", f"{seconds}", "-i", str(video), "-map", "0:a",
        "-af", f"{filters}astats=measure_perchannel=none:measure_overall=RMS_level",
        "-f", "null", "-"], loglevel="info")
    found = _RMS.findall(stderr)
    assert found, stderr[-2000:]
    return float("-inf") if found[-1] == "-inf" else float(found[-1])


def run_ffmpeg_quietly(args: list[str], loglevel: str = "error") -> str:
    """Run the bundled ffmpeg; its stderr."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", loglevel,
                             *args], capture_output=True, text=True, timeout=60, check=True)
    return result.stderr


def gray_frames(video: Path, size: tuple[int, int]) -> list[bytes]:
    """Every frame of the video as 8-bit grey pixels, row by row."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
                             "-i", str(video), "-map", "0:v", "-f", "rawvideo",
                             "-pix_fmt", "gray", "-"], capture_output=True, timeout=60,
                            check=True)
    frame = size[0] * size[1]
    return [result.stdout[i:i + frame] for i in range(0, len(result.stdout), frame)]


def centroid(frame: bytes, size: tuple[int, int], near: tuple[float, float],
             reach: int) -> tuple[float, float]:
    """The brightness-weighted centre of the pixels within `reach` of `near`."""
    w, h = size
    total = sx = sy = 0.0
    for y in range(max(0, int(near[1]) - reach), min(h, int(near[1]) + reach)):
        row = frame[y * w:(y + 1) * w]
        for x in range(max(0, int(near[0]) - reach), min(w, int(near[0]) + reach)):
            value = max(0, row[x] - 16)  # video black is 16
            total += value
            sx += value * x
            sy += value * y
    return sx / total, sy / total
