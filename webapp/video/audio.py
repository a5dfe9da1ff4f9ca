"""Mono 16-bit PCM clips: silence, joining, frame padding, WAV files and narration timing."""

from __future__ import annotations

import os
import struct
import sys
import wave
from array import array
from dataclasses import dataclass
from pathlib import Path

from webapp.video.subtitles import Cue

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


@dataclass(frozen=True)
class Clip:
    """Mono signed 16-bit little-endian PCM samples at a sample rate."""

    samples: bytes
    sample_rate: int

    @property
    def frames(self) -> int:
        """The number of samples (one channel, so samples and frames are the same)."""
        return len(self.samples) // 2

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate


@dataclass
class Narration:
    """The whole narration track, each scene's length and one subtitle cue per sentence."""

    audio: Clip
    scene_durations: list[float]
    cues: list[Cue]


def silence(seconds: float, sample_rate: int) -> Clip:
    """A clip of digital silence, rounded to the nearest sample."""
    if seconds < 0:
        raise ValueError(f"Silence cannot last {seconds} s")
    return Clip(bytes(2 * round(seconds * sample_rate)), sample_rate)


def concat(clips: list[Clip]) -> Clip:
    """Join clips end to end; they must share one sample rate."""
    if not clips:
        raise ValueError("Cannot concatenate an empty list of clips")
    rates = {c.sample_rate for c in clips}
    if len(rates) > 1:
        raise ValueError(f"Clips have different sample rates: {sorted(rates)}")
    return Clip(b"".join(c.samples for c in clips), clips[0].sample_rate)


def pad_to_frames(clip: Clip, fps: int) -> Clip:
    """Pad with silence so the clip lasts a whole number of video frames."""
    rate = clip.sample_rate
    n_frames = -(-clip.frames * fps // rate)  # ceiling in integers: no float drift
    # Rounding the frame boundary to a sample keeps each scene within half a sample of
    # n_frames / fps, so audio and video cannot drift apart over many scenes.
    target = round(n_frames * rate / fps)
    return Clip(clip.samples + bytes(2 * (target - clip.frames)), rate)


def resample(clip: Clip, sample_rate: int) -> Clip:
    """Linearly resample to another rate (speech only, so no anti-aliasing filter)."""
    if clip.sample_rate == sample_rate or not clip.samples:
        return Clip(clip.samples, sample_rate)
    source = _to_array(clip.samples)
    count = max(1, round(len(source) * sample_rate / clip.sample_rate))
    step = clip.sample_rate / sample_rate
    last = len(source) - 1
    out = array("h", bytes(2 * count))
    for i in range(count):
        pos = i * step
        j = min(int(pos), last)
        frac = pos - j
        nxt = source[min(j + 1, last)]
        out[i] = int(source[j] + (nxt - source[j]) * frac)
    return Clip(_to_bytes(out), sample_rate)


def write_wav(path: Path, clip: Clip) -> None:
    """Write a mono 16-bit WAV via a temporary name, so a partial file is never visible."""
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    try:
        with wave.open(str(partial), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(clip.sample_rate)
            out.writeframes(clip.samples)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def decode_wav(data: bytes) -> Clip:
    """Decode WAV bytes to mono 16-bit, mixing channels down and converting sample widths."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("Not a WAV file: no RIFF/WAVE header")
    fmt, payload = _chunks(data)
    if fmt is None or payload is None:
        raise ValueError("Not a usable WAV file: the fmt or data chunk is missing")
    tag, channels, rate, _, block, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # first bytes of the sub-format GUID
    if channels < 1 or rate < 1 or block != channels * bits // 8:
        raise ValueError(f"Malformed WAV header: {channels} channels, {rate} Hz, {bits} bits")
    payload = payload[: len(payload) - len(payload) % block]
    samples = _to_int16(payload, tag, bits)
    return Clip(_mix_down(samples, channels), rate)


def _chunks(data: bytes) -> tuple[bytes | None, bytes | None]:
    fmt = payload = None
    pos = 12
    while pos + 8 <= len(data) and payload is None:
        cid, size = struct.unpack("<4sI", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            # Streaming writers (espeak-ng --stdout, OpenAI's audio/speech) cannot know the
            # length up front and write a placeholder such as 0xFFFFFFFF; slicing above
            # already took "the rest of the file" in that case.
            payload = body
        pos += 8 + size + (size & 1)
    return fmt, payload


def _to_int16(payload: bytes, tag: int, bits: int) -> bytes:
    if tag == _PCM and bits == 16:
        return payload
    if tag == _PCM and bits in (24, 32):
        # Keep the two most significant bytes of each little-endian sample.
        width = bits // 8
        out = bytearray(len(payload) // width * 2)
        out[0::2] = payload[width - 2 :: width]
        out[1::2] = payload[width - 1 :: width]
        return bytes(out)
    if tag == _PCM and bits == 8:
        return _to_bytes(array("h", ((b - 128) << 8 for b in payload)))
    if tag == _FLOAT and bits == 32:
        floats = array("f", payload)
        if sys.byteorder == "big":
            floats.byteswap()
        return _to_bytes(array("h", (int(max(-1.0, min(1.0, f)) * 32767) for f in floats)))
    raise ValueError(f"Unsupported WAV encoding: format tag {tag} with {bits}-bit samples")


def _mix_down(samples: bytes, channels: int) -> bytes:
    if channels == 1:
        return samples
    source = _to_array(samples)
    frames = zip(*(source[c::channels] for c in range(channels)), strict=True)
    return _to_bytes(array("h", (sum(frame) // channels for frame in frames)))


def _to_array(samples: bytes) -> array:
    values = array("h", samples)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def _to_bytes(values: array) -> bytes:
    if sys.byteorder == "big":
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


def build_narration(
    scenes: list[list[tuple[str, Clip]]], fps: int, gap: float = 0.35, lead: float = 0.25
) -> Narration:
    """Lay sentences out scene by scene, each scene padded to whole frames, with exact cues."""
    rate = _common_rate(scenes)
    lead_n, gap_n = round(lead * rate), round(gap * rate)
    parts: list[Clip] = []
    durations: list[float] = []
    cues: list[Cue] = []
    offset = 0  # in samples: cue times come from integer counts, never summed floats
    for sentences in scenes:
        pieces = [_zeros(lead_n, rate)]
        position = lead_n
        for text, clip in sentences:
            start = offset + position
            cues.append(Cue(start / rate, (start + clip.frames) / rate, text))
            pieces += [clip, _zeros(gap_n, rate)]
            position += clip.frames + gap_n
        if not sentences:
            pieces.append(_zeros(gap_n, rate))
        scene = pad_to_frames(concat(pieces), fps)
        parts.append(scene)
        durations.append(scene.duration)
        offset += scene.frames
    return Narration(concat(parts), durations, cues)


def _common_rate(scenes: list[list[tuple[str, Clip]]]) -> int:
    if not scenes:
        raise ValueError("A narration needs at least one scene")
    rates = {clip.sample_rate for sentences in scenes for _, clip in sentences}
    if len(rates) != 1:
        detail = f"sample rates {sorted(rates)}" if rates else "no sentences at all"
        raise ValueError(f"Cannot build a narration from {detail}; use one sample rate")
    return rates.pop()


def _zeros(count: int, rate: int) -> Clip:
    return Clip(bytes(2 * count), rate)
