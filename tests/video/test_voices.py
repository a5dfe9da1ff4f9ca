"""Voices: silent timing, piper, espeak-ng, the OpenAI speech endpoint, status and errors."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from tests.fake_openai import API_KEY, FakeOpenAI
from tests.media import streaming_wav, tone, wav_bytes
from webapp.video import piper_engine
from webapp.video.settings import ProviderSettings
from webapp.video.voices import (
    VOICES,
    SynthesisError,
    VoiceUnavailable,
    get_synthesizer,
    voice_status,
)

OFFLINE = ProviderSettings()
HAS_PIPER = importlib.util.find_spec("piper") is not None
HAS_ESPEAK = shutil.which("espeak-ng") is not None


def openai_settings(fake: FakeOpenAI, **kwargs) -> ProviderSettings:
    return ProviderSettings(openai_base_url=fake.base_url, openai_api_key=API_KEY, **kwargs)


def test_catalogue_has_the_documented_voices() -> None:
    expected = {
        "piper:joe": "piper",
        "espeak:en-us": "espeak",
        "espeak:en-gb": "espeak",
        "silent": "silent",
        "openai:alloy": "openai",
        "openai:nova": "openai",
        "openai:onyx": "openai",
    }
    assert {k: VOICES[k].provider for k in expected} == expected
    assert all(voice.id == key for key, voice in VOICES.items())
    assert VOICES["piper:joe"].name == "en_US-joe-medium"


def test_unknown_voice_lists_the_known_ones() -> None:
    with pytest.raises(VoiceUnavailable, match="Unknown voice 'klingon'.*piper:joe.*silent"):
        get_synthesizer("klingon", OFFLINE)


@pytest.mark.parametrize(
    ("text", "seconds"), [("", 0.6), ("Hi.", 0.6), ("x" * 30, 2.0), ("y" * 150, 10.0)]
)
def test_silent_voice_is_timed_from_the_text(text: str, seconds: float) -> None:
    voice = get_synthesizer("silent", OFFLINE)
    clip = voice.synthesize(text)
    assert voice.sample_rate == clip.sample_rate == 22050
    assert clip.duration == pytest.approx(seconds, abs=1e-4)
    assert not any(clip.samples)
    assert voice.synthesize(text) == clip


SENTENCE = "The quick brown fox jumps over the lazy dog, and then it naps in the sun."


def _lengths(voice_id: str, settings: ProviderSettings = OFFLINE,
             times: int = 1) -> dict[float, float]:
    """The sentence's length at each speed, the mean of `times` syntheses."""
    return {speed: sum(get_synthesizer(voice_id, settings, speed).synthesize(SENTENCE).duration
                       for _ in range(times)) / times
            for speed in (0.75, 1.0, 1.5)}


def test_silent_voice_follows_the_narration_speed() -> None:
    lengths = _lengths("silent")
    assert lengths[1.5] == pytest.approx(lengths[1.0] / 1.5, abs=1e-4)
    assert lengths[0.75] == pytest.approx(lengths[1.0] / 0.75, abs=1e-4)


@pytest.mark.parametrize("speed", [0.5, 1.51, 0])
def test_a_speed_out_of_range_is_refused(speed: float) -> None:
    with pytest.raises(ValueError, match="speed must be between 0.75 and 1.5"):
        get_synthesizer("silent", OFFLINE, speed)


@pytest.mark.skipif(not HAS_PIPER, reason="the optional piper extra is not installed")
def test_piper_follows_the_narration_speed() -> None:
    # Piper's durations vary from one synthesis to the next (its noise): 1.0 against 0.75
    # measured 0.76-0.85 for single syntheses (ideal 0.75), so take means of three.
    lengths = _lengths("piper:joe", times=3)
    # Piper stretches phonemes, not pauses: close to the ratio, not exactly it.
    assert lengths[1.5] < 0.8 * lengths[1.0] < lengths[1.0] < 0.9 * lengths[0.75]


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed")
def test_espeak_follows_the_narration_speed() -> None:
    lengths = _lengths("espeak:en-us")
    assert lengths[1.5] < 0.8 * lengths[1.0] < lengths[1.0] < 0.85 * lengths[0.75]


def test_openai_voice_asks_for_the_speed(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("audio/speech", body=wav_bytes(tone(0.5, 24000), 24000),
                      content_type="audio/wav")
    get_synthesizer("openai:nova", openai_settings(fake_openai), 1.25).synthesize("Hi.")
    (request,) = fake_openai.requests
    assert request.json()["speed"] == 1.25


@pytest.mark.skipif(not HAS_PIPER, reason="the optional piper extra is not installed")
def test_piper_speaks_a_sentence_and_caches_the_model() -> None:
    assert piper_engine.load(None) is piper_engine.load(None)  # loaded once per process
    voice = get_synthesizer("piper:joe", OFFLINE)
    clip = voice.synthesize("The quick brown fox jumps over the lazy dog.")
    assert voice.sample_rate == clip.sample_rate == 22050
    assert 1.0 < clip.duration < 6.0
    assert any(clip.samples)
    assert voice.synthesize("").duration == 0


def test_piper_model_that_does_not_exist(tmp_path) -> None:
    settings = ProviderSettings(piper_model=str(tmp_path / "nope.onnx"))
    reason = piper_engine.PIPER_EXTRA if not HAS_PIPER else "is not a file"
    with pytest.raises(VoiceUnavailable, match=reason):
        get_synthesizer("piper:joe", settings)


@pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng is not installed")
@pytest.mark.parametrize("voice_id", ["espeak:en-us", "espeak:en-gb"])
def test_espeak_speaks_option_like_text(voice_id: str) -> None:
    voice = get_synthesizer(voice_id, OFFLINE)
    # Taken as an option, "--help" would print usage text instead of a WAV; spoken, it is
    # a short word ("help"), and "-v xx" does not switch the voice.
    for text in ("--help", "-v xx --version", "Hello from espeak."):
        clip = voice.synthesize(text)
        assert clip.sample_rate == 22050
        assert 0.2 < clip.duration < 5
        assert any(clip.samples)


def test_espeak_missing_says_what_to_install() -> None:
    with pytest.raises(VoiceUnavailable, match="apt-get install espeak-ng"):
        get_synthesizer("espeak:en-us", ProviderSettings(espeak_binary="no-such-espeak"))


def test_openai_voice_posts_and_decodes_the_wav(fake_openai: FakeOpenAI) -> None:
    samples = tone(0.5, 24000)
    fake_openai.reply("audio/speech", body=wav_bytes(samples, 24000), content_type="audio/wav")
    voice = get_synthesizer("openai:nova", openai_settings(fake_openai, openai_tts_model="t1"))
    clip = voice.synthesize("Hello, world.")
    assert clip.sample_rate == voice.sample_rate == 24000
    assert clip.samples == samples
    (request,) = fake_openai.requests
    assert request.path == "/v1/audio/speech"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.json() == {
        "model": "t1",
        "voice": "nova",
        "input": "Hello, world.",
        "response_format": "wav",
    }


def test_openai_voice_streamed_header_and_other_rates(fake_openai: FakeOpenAI) -> None:
    stereo = tone(0.5, 16000, channels=2)
    fake_openai.reply("audio/speech", body=streaming_wav(stereo, 16000, channels=2))
    clip = get_synthesizer("openai:alloy", openai_settings(fake_openai)).synthesize("Hi.")
    assert clip.sample_rate == 24000  # resampled, so every sentence shares one rate
    assert clip.duration == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        ({"status": 500, "body": b"engine on fire"}, "HTTP 500: engine on fire"),
        ({"body": b'{"error": "json, not audio"}'}, "no usable WAV"),
    ],
)
def test_openai_voice_failures_are_synthesis_errors(fake_openai, reply, problem) -> None:
    fake_openai.reply("audio/speech", **reply)
    voice = get_synthesizer("openai:onyx", openai_settings(fake_openai))
    with pytest.raises(SynthesisError, match=problem):
        voice.synthesize("Hello.")


def test_openai_voice_timeout(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("audio/speech", body=wav_bytes(b"", 24000), delay=1.0)
    voice = get_synthesizer("openai:onyx", openai_settings(fake_openai, http_timeout=0.2))
    with pytest.raises(SynthesisError, match="did not answer within 0.2 s"):
        voice.synthesize("Hello.")


def test_openai_voice_needs_configuration() -> None:
    with pytest.raises(VoiceUnavailable, match="OPENAI_BASE_URL and OPENAI_API_KEY"):
        get_synthesizer("openai:alloy", OFFLINE)


def test_voice_status() -> None:
    status = {s.name: s for s in voice_status(ProviderSettings(espeak_binary="no-such-espeak"))}
    assert list(status) == ["piper", "espeak", "silent", "openai"]
    assert status["silent"].available
    assert not status["espeak"].available and "apt-get install espeak-ng" in status["espeak"].detail
    assert not status["openai"].available and "OPENAI_API_KEY" in status["openai"].detail
    assert (status["espeak"].reason, status["openai"].reason, status["silent"].reason) == (
        "not installed here", "not configured here", None)
    assert status["piper"].available == HAS_PIPER
    configured = ProviderSettings(openai_base_url="http://h/v1", openai_api_key="k")
    assert {s.name: s.available for s in voice_status(configured)}["openai"]
