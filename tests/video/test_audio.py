"""Clips, WAV reading and writing, frame padding and narration timing."""

from __future__ import annotations

import struct
from itertools import accumulate, pairwise
from pathlib import Path

import pytest

from tests.media import read_wav, streaming_wav, tone, wav_bytes
from webapp.video.audio import (
    Clip,
    build_narration,
    concat,
    decode_wav,
    pad_to_frames,
    resample,
    silence,
    write_wav,
)


def clip(seconds: float, rate: int = 22050) -> Clip:
    return Clip(tone(seconds, rate), rate)


def test_clip_duration_and_silence() -> None:
    assert clip(1.5).duration == pytest.approx(1.5)
    quiet = silence(0.25, 22050)
    assert quiet.frames == 5512  # round(5512.5) to even
    assert set(quiet.samples) == {0}
    assert silence(0, 16000).frames == 0
    with pytest.raises(ValueError, match="cannot last"):
        silence(-1, 16000)


def test_concat_requires_one_rate() -> None:
    joined = concat([clip(0.5), silence(0.25, 22050), clip(0.1)])
    assert joined.frames == clip(0.5).frames + 5512 + clip(0.1).frames
    with pytest.raises(ValueError, match="different sample rates"):
        concat([clip(0.1, 22050), clip(0.1, 24000)])
    with pytest.raises(ValueError, match="empty"):
        concat([])


@pytest.mark.parametrize("rate", [16000, 22050, 24000, 44100, 48000])
@pytest.mark.parametrize("frames", [0, 1, 734, 735, 736, 22049, 22051, 100_003])
def test_pad_to_frames_is_exact(rate: int, frames: int) -> None:
    padded = pad_to_frames(Clip(bytes(2 * frames), rate), 30)
    n_frames = -(-frames * 30 // rate)
    assert padded.frames == round(n_frames * rate / 30)
    assert padded.frames >= frames
    assert padded.duration * 30 == pytest.approx(n_frames, abs=0.5 * 30 / rate)


def test_pad_keeps_the_original_samples() -> None:
    original = clip(0.3)
    padded = pad_to_frames(original, 30)
    assert padded.samples.startswith(original.samples)
    assert set(padded.samples[len(original.samples) :]) <= {0}


def test_wav_round_trip_leaves_no_partial_file(tmp_path: Path) -> None:
    original = clip(0.4, 24000)
    write_wav(tmp_path / "a.wav", original)
    assert read_wav(tmp_path / "a.wav") == original
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]


def test_read_wav_mixes_stereo_down_to_mono(tmp_path: Path) -> None:
    mono = tone(0.2, 16000)
    (tmp_path / "s.wav").write_bytes(wav_bytes(tone(0.2, 16000, channels=2), 16000, channels=2))
    assert read_wav(tmp_path / "s.wav") == Clip(mono, 16000)


def test_read_wav_converts_8_24_and_32_bit_and_float() -> None:
    samples = [0, 12000, -12000, 32767, -32768]
    expected = struct.pack("<5h", *samples)
    eight = bytes((s >> 8) + 128 for s in samples)
    assert decode_wav(wav_bytes(eight, 8000, width=1)).samples == struct.pack(
        "<5h", *((s >> 8) << 8 for s in samples)
    )
    wide = b"".join(b"\x7f" + struct.pack("<h", s) for s in samples)
    assert decode_wav(wav_bytes(wide, 8000, width=3)).samples == expected
    wider = b"".join(b"\x00\x7f" + struct.pack("<h", s) for s in samples)
    assert decode_wav(wav_bytes(wider, 8000, width=4)).samples == expected
    floats = struct.pack("<3f", 0.0, 0.5, -2.0)
    header = wav_bytes(b"", 8000)
    # Patch the standard library's PCM header into a 32-bit IEEE float one.
    header = header[:20] + struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32) + header[36:40]
    data = header + struct.pack("<I", len(floats)) + floats
    assert decode_wav(data).samples == struct.pack("<3h", 0, 16383, -32767)


@pytest.mark.parametrize("placeholder", [0xFFFFFFFF, 0x7FFFF000])
def test_read_wav_tolerates_streaming_placeholder_lengths(placeholder: int) -> None:
    samples = tone(0.3, 22050)
    assert decode_wav(streaming_wav(samples, 22050, placeholder)) == Clip(samples, 22050)
    # An odd trailing byte from a cut stream is dropped, not misread.
    assert decode_wav(streaming_wav(samples + b"\x01", 22050, placeholder)).samples == samples


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "no RIFF/WAVE header"),
        (b"ID3\x03 mp3 data here", "no RIFF/WAVE header"),
        (b"RIFF\x04\x00\x00\x00WAVE", "chunk is missing"),
    ],
)
def test_read_wav_rejects_non_wav(data: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        decode_wav(data)


def test_read_wav_rejects_unsupported_encodings() -> None:
    header = wav_bytes(b"\x00\x00", 8000)
    alaw = header[:20] + struct.pack("<H", 6) + header[22:]
    with pytest.raises(ValueError, match="Unsupported WAV encoding: format tag 6"):
        decode_wav(alaw)


def test_resample_changes_rate_and_keeps_duration() -> None:
    source = clip(0.5, 16000)
    converted = resample(source, 24000)
    assert converted.sample_rate == 24000
    assert converted.frames == 12000
    assert resample(source, 16000) == source


def scene(*seconds: float, rate: int = 22050) -> list[tuple[str, Clip]]:
    return [(f"Sentence {i} of {len(seconds)}.", clip(s, rate)) for i, s in enumerate(seconds)]


@pytest.mark.parametrize("rate", [22050, 16000])
def test_build_narration_timing_is_exact(rate: int) -> None:
    scenes = [scene(1.0, 0.7, rate=rate), scene(0.33, rate=rate), scene(2.0, 0.1, 0.5, rate=rate)]
    narration = build_narration(scenes, 30, gap=0.35, lead=0.25)
    audio = narration.audio
    assert audio.sample_rate == rate
    # Scene lengths add up to the track to the sample, and each is a whole number of frames.
    counts = [round(d * rate) for d in narration.scene_durations]
    assert sum(counts) == audio.frames
    for duration in narration.scene_durations:
        assert duration * 30 == pytest.approx(round(duration * 30), abs=30 / rate)
    assert [c.text for c in narration.cues] == [t for s in scenes for t, _ in s]
    starts = [c.start for c in narration.cues]
    assert starts == sorted(set(starts))  # strictly increasing
    bounds = list(accumulate(narration.scene_durations, initial=0.0))
    cues = iter(narration.cues)
    for (begin, end), sentences in zip(pairwise(bounds), scenes, strict=True):
        for position, (_, sentence) in enumerate(sentences):
            cue = next(cues)
            assert begin <= cue.start < cue.end <= end
            assert cue.end - cue.start == pytest.approx(sentence.duration, abs=1e-9)
            if position == 0:  # the lead silence comes before each scene's first sentence
                assert cue.start - begin == pytest.approx(round(0.25 * rate) / rate)


def test_build_narration_puts_the_speech_where_the_cues_say() -> None:
    narration = build_narration([scene(0.5), scene(0.4, 0.3)], 30)
    samples = narration.audio.samples
    rate = narration.audio.sample_rate
    for cue in narration.cues:
        start, end = round(cue.start * rate), round(cue.end * rate)
        assert any(samples[2 * start : 2 * end])  # the tone
        gap = samples[2 * end : 2 * (end + round(0.3 * rate))]
        assert not any(gap)  # followed by silence


def test_build_narration_rejects_mixed_or_missing_rates() -> None:
    with pytest.raises(ValueError, match="sample rates"):
        build_narration([scene(0.5, rate=22050), scene(0.5, rate=24000)], 30)
    with pytest.raises(ValueError, match="at least one scene"):
        build_narration([], 30)
    with pytest.raises(ValueError, match="no sentences"):
        build_narration([[]], 30)


def test_empty_scene_still_lasts_whole_frames() -> None:
    narration = build_narration([scene(0.5), []], 30)
    assert narration.scene_durations[1] > 0
    assert narration.scene_durations[1] * 30 == pytest.approx(
        round(narration.scene_durations[1] * 30)
    )
