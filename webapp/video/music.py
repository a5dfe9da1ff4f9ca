"""An uploaded music track as the video's bed: looped or cut to the video's length, faded
in and out, at the project's level, and ducked under the narration."""

from __future__ import annotations

from pathlib import Path

from webapp.video.filtergraph import AUDIO_RATE, music_gain_db

FADE_IN, FADE_OUT = 1.0, 2.5
# The duck: while the voice's level is above DUCK_THRESHOLD the music is compressed by
# DUCK_RATIO (speech at about -20 dBFS takes it down by about 14 dB), in DUCK_ATTACK ms
# and back up over DUCK_RELEASE ms once the voice pauses.
DUCK_THRESHOLD, DUCK_RATIO, DUCK_ATTACK, DUCK_RELEASE = 0.015, 8, 30, 600


def track_input_args(track: Path) -> list[str]:
    """ffmpeg's input options for the track: read again from its start when it ends (by the
    demuxer, holding nothing in memory), so a short track fills any video."""
    return ["-stream_loop", "-1", "-i", str(Path(track).absolute())]


def track_chains(source: int, total: float, level: int) -> list[str]:
    """Input `source`'s first audio stream as [music]: `total` seconds, stereo at AUDIO_RATE,
    faded, at music_gain_db(level) and ducked under [key] (the narration, split off)."""
    fade_in = min(FADE_IN, total / 4)
    fade_out = min(FADE_OUT, total / 4)
    bed = (
        f"[{source}:a:0]aresample={AUDIO_RATE},aformat=sample_fmts=fltp:channel_layouts=stereo,"
        f"atrim=duration={total:.6f},asetpts=N/SR/TB,"
        f"afade=t=in:d={fade_in:.3f},afade=t=out:st={total - fade_out:.6f}:d={fade_out:.3f},"
        f"volume={music_gain_db(level):.2f}dB[bed]"
    )
    key = "[key]aformat=sample_fmts=fltp:channel_layouts=stereo[keyed]"
    duck = (
        f"[bed][keyed]sidechaincompress=threshold={DUCK_THRESHOLD}:ratio={DUCK_RATIO}"
        f":attack={DUCK_ATTACK}:release={DUCK_RELEASE}:makeup=1[music]"
    )
    return [bed, key, duck]
