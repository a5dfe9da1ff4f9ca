"""What a file's first bytes say it is, whatever its name says.

Only formats the render accepts are known: PNG, JPEG and WebP pictures; MP4/MOV, WebM and
Matroska clips; MP3, WAV, Ogg, FLAC and M4A music. Anything else is unknown, and refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HEAD = 64  # bytes read to sniff


@dataclass(frozen=True)
class Sniffed:
    """A known format: the kind it can be uploaded as, its MIME type and its extension."""

    kind: str  # "image", "clip" or "music"
    content_type: str
    extension: str
    label: str


PNG = Sniffed("image", "image/png", ".png", "a PNG picture")
JPEG = Sniffed("image", "image/jpeg", ".jpg", "a JPEG picture")
WEBP = Sniffed("image", "image/webp", ".webp", "a WebP picture")
MP4 = Sniffed("clip", "video/mp4", ".mp4", "an MP4 video")
WEBM = Sniffed("clip", "video/webm", ".webm", "a WebM or Matroska video")
M4A = Sniffed("music", "audio/mp4", ".m4a", "an M4A sound file")
MP3 = Sniffed("music", "audio/mpeg", ".mp3", "an MP3 sound file")
WAV = Sniffed("music", "audio/wav", ".wav", "a WAV sound file")
OGG = Sniffed("music", "audio/ogg", ".ogg", "an Ogg sound file")
FLAC = Sniffed("music", "audio/flac", ".flac", "a FLAC sound file")

# What a file's name may end in for each format (a name that claims another is refused).
EXTENSIONS = {
    PNG: {".png"}, JPEG: {".jpg", ".jpeg"}, WEBP: {".webp"}, MP4: {".mp4", ".m4v", ".mov"},
    WEBM: {".webm", ".mkv"}, M4A: {".m4a", ".mp4", ".aac"}, MP3: {".mp3"}, WAV: {".wav"},
    OGG: {".ogg", ".oga", ".opus"}, FLAC: {".flac"},
}
KNOWN_EXTENSIONS = frozenset().union(*EXTENSIONS.values())


def sniff(path: Path) -> Sniffed | None:
    """The format of the file at `path`, from its first bytes; None if not a known one."""
    with open(path, "rb") as file:
        head = file.read(HEAD)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return M4A if brand in (b"M4A ", b"M4B ") else MP4
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return MP3
    return None


def claimed_mismatch(name: str | None, found: Sniffed) -> str | None:
    """The extension of `name` when it claims a known format other than `found`'s."""
    suffix = Path(name or "").suffix.lower()
    if suffix in KNOWN_EXTENSIONS and suffix not in EXTENSIONS[found]:
        return suffix
    return None
