"""Deciding whether an uploaded file may be kept, by what it is, never by its name.

Each check names the problem in words a person can act on (the upload answers 422 with it):
too many bytes, not a format this app uses, another kind than the one asked for, a name
that claims another format, a polyglot (markup or an archive hidden in it), more pixels
than allowed (read from the header, before any decoding: a decompression bomb is refused
unopened), a truncated file, a clip with no picture or sound with no audio, or too long.

A picture is kept re-encoded (decoded and saved again, turned upright, its metadata
dropped), never as sent; a clip or a sound file is kept as sent, once ffmpeg has read it
(its header, and its last second decoded: a truncated file fails there). Files are only
ever handed to ffmpeg as an argument (a path of ours), never to a shell or inside a filter
graph, and their names are never used for anything but display.
"""

from __future__ import annotations

import re
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from webapp.media.sniff import JPEG, PNG, Sniffed, claimed_mismatch, sniff
from webapp.video.probe import probe
from webapp.video.process import FfmpegError, ffmpeg_exe

KINDS = {"image": "picture", "clip": "video clip", "music": "music track"}
_MARKUP = re.compile(rb"<(?:script|html|svg|iframe|\?php)|<!doctype", re.IGNORECASE)
_ARCHIVE = b"PK\x03\x04"
_PNG_END = b"IEND\xaeB`\x82"
DECODE_TIMEOUT = 60
SCAN_CHUNK = 1 << 20
SCAN_OVERLAP = 64  # longer than any pattern searched for


class MediaRejected(Exception):
    """The file may not be kept; the message says why (for a 422 naming the file field)."""


@dataclass(frozen=True)
class MediaLimits:
    """How big, how large and how long uploads may be."""

    image_bytes: int = 20 * 1024 * 1024
    clip_bytes: int = 100 * 1024 * 1024
    music_bytes: int = 20 * 1024 * 1024
    pixels: int = 40_000_000  # a picture's width x height
    clip_side: int = 4096  # a clip's width and height
    clip_seconds: float = 60.0
    music_seconds: float = 600.0

    def bytes_for(self, kind: str) -> int:
        return {"image": self.image_bytes, "clip": self.clip_bytes,
                "music": self.music_bytes}[kind]


@dataclass(frozen=True)
class Accepted:
    """A file that may be kept: what it is, its measures, and where its kept form is."""

    kind: str
    format: Sniffed
    path: Path  # the re-encoded picture, or the file as sent
    width: int | None = None
    height: int | None = None
    duration: float | None = None


def inspect(kind: str, path: Path, name: str | None, limits: MediaLimits,
            workdir: Path) -> Accepted:
    """Whether the file at `path` (named `name` by its sender) may be kept as a `kind`;
    a re-encoded picture is written into `workdir`. Raises MediaRejected."""
    if kind not in KINDS:
        raise ValueError(f"unknown media kind {kind!r}")
    found = _format(kind, path, name, limits)
    _no_polyglot(path, found)
    if kind == "image":
        return _picture(path, found, limits, workdir)
    info = _probed(path, found)
    if kind == "clip":
        return _clip(path, found, info, limits)
    return _music(path, found, info, limits)


def _format(kind: str, path: Path, name: str | None, limits: MediaLimits) -> Sniffed:
    size, most = path.stat().st_size, limits.bytes_for(kind)
    if size == 0:
        raise MediaRejected("The file is empty.")
    if size > most:
        raise MediaRejected(f"The file is {_mb(size)}; a {KINDS[kind]} may be at most "
                            f"{_mb(most)}.")
    found = sniff(path)
    if found is None:
        raise MediaRejected("The file is not a format this app can use: pictures in PNG, JPEG "
                            "or WebP; clips in MP4, MOV or WebM; music in MP3, WAV, Ogg, FLAC "
                            "or M4A.")
    if found.kind != kind:
        raise MediaRejected(f"The file is {found.label}, not a {KINDS[kind]}.")
    if claimed := claimed_mismatch(name, found):
        raise MediaRejected(f"The file is named {claimed} but is {found.label}: give it the "
                            "name of what it is.")
    return found


def _no_polyglot(path: Path, found: Sniffed) -> None:
    """Refuse a file that is also something else: markup anywhere, or (in a picture) an
    archive, or data after the picture's end. Read in chunks (a clip may be 100 MB)."""
    scan = _scan(path)
    if scan.markup:
        raise MediaRejected(f"The file is {found.label} but also holds web page markup (a "
                            "polyglot file); save it again from an image or video editor.")
    if found.kind != "image":
        return
    # What follows a PNG's end chunk (nothing, in a clean file), or a JPEG's last bytes.
    start = scan.size - SCAN_OVERLAP if found is JPEG else scan.png_end
    tail = _read_from(path, start) if start >= 0 else b""
    trailing = found is PNG and tail.strip(b"\0")
    ends = found is not JPEG or tail.rstrip(b"\0").endswith(b"\xff\xd9")
    if scan.archive or trailing or not ends:
        raise MediaRejected(f"The file is {found.label} with other data after it (a polyglot "
                            "or a damaged file); save it again from an image editor.")


@dataclass
class _Scan:
    size: int = 0
    markup: bool = False
    archive: bool = False  # a zip header past the first byte
    png_end: int = -1  # where the last PNG end chunk ends


def _read_from(path: Path, start: int) -> bytes:
    with path.open("rb") as stream:
        stream.seek(start)
        return stream.read()


def _scan(path: Path) -> _Scan:
    """One pass over the file in chunks, each searched with the end of the one before (so
    a pattern across a boundary is found)."""
    scan, carry = _Scan(), b""
    with path.open("rb") as stream:
        while chunk := stream.read(SCAN_CHUNK):
            window, base = carry + chunk, scan.size - len(carry)
            scan.markup = scan.markup or _MARKUP.search(window) is not None
            at = window.find(_ARCHIVE)
            scan.archive = scan.archive or (at >= 0 and base + at > 0)
            if (end := window.rfind(_PNG_END)) >= 0:
                scan.png_end = max(scan.png_end, base + end + len(_PNG_END))
            scan.size += len(chunk)
            carry = window[-SCAN_OVERLAP:]
    return scan


def _picture(path: Path, found: Sniffed, limits: MediaLimits, workdir: Path) -> Accepted:
    upright = _decoded(path, found, limits)
    kept = workdir / f"picture{'.jpg' if found is JPEG else '.png'}"
    if found is JPEG:
        upright.convert("RGB").save(kept, format="JPEG", quality=92)
    else:
        has_alpha = upright.mode in ("RGBA", "LA") or "transparency" in upright.info
        upright.convert("RGBA" if has_alpha else "RGB").save(kept, format="PNG")
        found = PNG
    return Accepted("image", found, kept, upright.width, upright.height)


def _decoded(path: Path, found: Sniffed, limits: MediaLimits) -> Image.Image:
    """The picture decoded and turned upright, once its header's size was checked."""
    try:
        with warnings.catch_warnings():
            # Past 89 megapixels Pillow warns as it opens; the size is checked below instead.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # reads the header only
                width, height = image.size
                if width * height > limits.pixels:
                    raise MediaRejected(
                        f"The picture is {width:,} × {height:,} pixels; pictures may have at "
                        f"most {limits.pixels / 1e6:g} megapixels.")
                image.load()  # decodes: a truncated file fails here
                return ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:  # Pillow's own guard, past 179 megapixels
        raise MediaRejected("The picture has far too many pixels (a decompression bomb?); "
                            f"pictures may have at most {limits.pixels / 1e6:g} megapixels."
                            ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise MediaRejected(f"The file looks like {found.label} but cannot be read: it is "
                            f"damaged or cut short ({_reason(exc)}).") from None


def _probed(path: Path, found: Sniffed):
    try:
        info = probe(path)
    except (FfmpegError, subprocess.TimeoutExpired):
        raise MediaRejected(f"The file looks like {found.label} but ffmpeg cannot read it: it "
                            "is damaged or cut short.") from None
    if not _last_second_decodes(path):
        raise MediaRejected(f"The file is {found.label} cut short or damaged: its end cannot "
                            "be decoded.")
    return info


def _last_second_decodes(path: Path) -> bool:
    """Whether ffmpeg decodes the file's last second without an error."""
    try:
        result = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-sseof", "-1",
             "-i", str(path.absolute()), "-f", "null", "-"],
            capture_output=True, timeout=DECODE_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and not result.stderr.strip()


def _clip(path: Path, found: Sniffed, info, limits: MediaLimits) -> Accepted:
    if info.video_codec is None or not info.width or not info.height:
        raise MediaRejected(f"The file is {found.label} with no picture (no video stream).")
    if max(info.width, info.height) > limits.clip_side:
        raise MediaRejected(f"The clip is {info.width} × {info.height}; clips may be at most "
                            f"{limits.clip_side} pixels on each side.")
    _check_length(info.duration, limits.clip_seconds, "clips")
    return Accepted("clip", found, path, info.width, info.height, info.duration)


def _music(path: Path, found: Sniffed, info, limits: MediaLimits) -> Accepted:
    if info.audio_codec is None:
        raise MediaRejected(f"The file is {found.label} with no sound (no audio stream).")
    _check_length(info.duration, limits.music_seconds, "music tracks")
    return Accepted("music", found, path, duration=info.duration)


def _check_length(seconds: float, most: float, what: str) -> None:
    if seconds <= 0:
        raise MediaRejected("The file has no length that ffmpeg can read.")
    if seconds > most:
        raise MediaRejected(f"The file lasts {seconds:.0f} s; {what} may last at most "
                            f"{most:g} s.")


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f} MB"


def _reason(exc: Exception) -> str:
    return str(exc).split("\n")[0][:120] or type(exc).__name__
