"""Media for the tests, and reading back what the video library writes.

WAV files to feed it (as espeak-ng, piper or OpenAI would), and readers the app itself never
needs: a WAV file, SRT and WebVTT cues, one frame of a video. Nothing here needs PostgreSQL
or Redis.
"""

from __future__ import annotations

import html
import io
import math
import re
import struct
import subprocess
import wave
import zlib
from pathlib import Path

from webapp.video.audio import Clip, decode_wav
from webapp.video.process import FfmpegError, ffmpeg_exe
from webapp.video.subtitles import WORD_JOINER, Cue

_SRT_JOINED = re.compile(rf"([{{\\<]){WORD_JOINER}")
_TIMING = re.compile(
    r"^\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})\s*-->\s*((?:\d+:)?\d{1,2}:\d{2}[.,]\d{1,3})"
)


def tone(seconds: float, rate: int, *, channels: int = 1, frequency: float = 440.0) -> bytes:
    """Interleaved 16-bit samples of a sine tone (the same on every channel)."""
    values = (
        int(12000 * math.sin(2 * math.pi * frequency * i / rate))
        for i in range(round(seconds * rate))
    )
    return b"".join(struct.pack("<h", v) * channels for v in values)


def wav_bytes(samples: bytes, rate: int, *, channels: int = 1, width: int = 2) -> bytes:
    """A WAV file written by the standard library."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(samples)
    return buffer.getvalue()


def streaming_wav(
    samples: bytes, rate: int, placeholder: int = 0xFFFFFFFF, *, channels: int = 1
) -> bytes:
    """A WAV whose sizes are a placeholder, as espeak-ng --stdout and OpenAI stream them."""
    header = wav_bytes(b"", rate, channels=channels)[:44]
    header = header[:4] + struct.pack("<I", placeholder) + header[8:40]
    return header + struct.pack("<I", placeholder) + samples


def ffmpeg(*args: str) -> None:
    """Run the bundled ffmpeg (no shell), overwriting its output."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args,
                    "-y"], check=True, capture_output=True, timeout=60)


def sample_files(folder: Path) -> dict[str, Path]:
    """Honest uploads, by name: two pictures, a 2 s clip, a clip with no video, music."""
    from PIL import Image

    out = {name: folder / name for name in (
        "photo.png", "photo.jpg", "clip.mp4", "audio-only.mp4", "music.wav", "music.m4a")}
    Image.new("RGB", (640, 360), (200, 40, 40)).save(out["photo.png"])
    Image.new("RGB", (640, 360), (40, 200, 40)).save(out["photo.jpg"], quality=90)
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=2", "-c:v",
           "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out["clip.mp4"]))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac",
           str(out["audio-only.mp4"]))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", str(out["music.wav"]))
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac",
           str(out["music.m4a"]))
    return out


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(path: Path, side: int) -> Path:
    """A PNG of side x side pixels in a few hundred bytes (a few rows; the rest is never
    there): a decompression bomb."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (side + 1) * 8)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
                     + _png_chunk(b"IDAT", rows) + _png_chunk(b"IEND", b""))
    return path


def read_wav(path: Path) -> Clip:
    """Read a PCM or float WAV file as mono 16-bit (see decode_wav)."""
    return decode_wav(Path(path).read_bytes())


def parse_srt(text: str) -> list[Cue]:
    """Read the cues of a SubRip file (undoing to_srt's word joiners)."""
    cues = [cue for block in _blocks(text) if (cue := _parse_block(block))]
    return [Cue(c.start, c.end, _SRT_JOINED.sub(r"\1", c.text)) for c in cues]


def parse_vtt(text: str) -> list[Cue]:
    """Read the cues of a WebVTT file (NOTE, STYLE and REGION blocks are skipped)."""
    blocks = _blocks(text)
    if not blocks or not blocks[0][0].startswith("WEBVTT"):
        raise ValueError("Not a WebVTT file: it must start with WEBVTT")
    cues = [_parse_block(block) for block in blocks[1:]]
    return [Cue(c.start, c.end, html.unescape(c.text)) for c in cues if c]


def extract_frame(video: Path, at_seconds: float, out_png: Path) -> None:
    """Save the video frame shown at at_seconds as a PNG."""
    quiet = ["-hide_banner", "-nostdin", "-loglevel", "error"]
    # -ss before -i seeks in the input: fast, and exact for the stills-based videos we make.
    source = ["-ss", f"{at_seconds:.3f}", "-i", str(Path(video).absolute())]
    one_png = ["-frames:v", "1", "-update", "1", "-y", str(Path(out_png).absolute())]
    args = [ffmpeg_exe(), *quiet, *source, *one_png]
    result = subprocess.run(
        args, capture_output=True, text=True, errors="replace", timeout=60, check=False
    )
    if result.returncode != 0 or not Path(out_png).exists():
        tail = "\n".join(result.stderr.strip().splitlines()[-15:])
        raise FfmpegError(f"Could not extract a frame at {at_seconds} s from {video}", tail)


def frame_image(video: Path, at_seconds: float, folder: Path, mode: str = "RGB"):
    """The video frame shown at at_seconds as a Pillow image in `mode` (its PNG is kept in
    `folder`)."""
    from PIL import Image

    path = Path(folder) / f"frame-{at_seconds:.3f}.png"
    extract_frame(video, at_seconds, path)
    with Image.open(path) as frame:
        return frame.convert(mode)


def _blocks(text: str) -> list[list[str]]:
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [b.split("\n") for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]


def _parse_block(lines: list[str]) -> Cue | None:
    for i, line in enumerate(lines[:2]):  # an optional number or identifier comes first
        if match := _TIMING.match(line):
            start, end = (_seconds(match.group(n)) for n in (1, 2))
            return Cue(start, end, "\n".join(lines[i + 1 :]))
    return None


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    seconds = float(parts[-1])
    for i, part in enumerate(reversed(parts[:-1])):
        seconds += int(part) * 60 ** (i + 1)
    return round(seconds, 3)
