"""Narration voices: piper (offline neural), espeak-ng, silent timing, and OpenAI speech."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from typing import Protocol

from webapp.video import piper_engine
from webapp.video.audio import Clip, decode_wav, resample
from webapp.video.remote import RemoteError, post_json
from webapp.video.settings import ProviderSettings, ProviderStatus

SILENT_RATE = 22050
SILENT_CHARS_PER_SECOND = 15
SILENT_MINIMUM = 0.6
OPENAI_RATE = 24000  # what audio/speech returns as WAV; other rates are resampled to it
ESPEAK_TIMEOUT = 60.0
ESPEAK_WORDS_PER_MINUTE = 175  # espeak-ng's own default pace (-s)
# Narration speed, as times the voice's own pace: the slowest and the fastest offered.
SPEEDS = (0.75, 1.5)
OPENAI_NEEDS = "openai voices need OPENAI_BASE_URL and OPENAI_API_KEY"
NOT_INSTALLED = "not installed here"


@dataclass(frozen=True)
class Voice:
    """A selectable narrator: id ("provider:name"), provider, label, engine voice name."""

    id: str
    provider: str
    label: str
    name: str


VOICES: dict[str, Voice] = {
    v.id: v
    for v in (
        Voice("piper:joe", "piper", "Joe, US English (Piper, offline)", "en_US-joe-medium"),
        Voice("espeak:en-us", "espeak", "US English (eSpeak NG, robotic)", "en-us"),
        Voice("espeak:en-gb", "espeak", "UK English (eSpeak NG, robotic)", "en-gb"),
        Voice("silent", "silent", "Silent (subtitles only)", "silent"),
        Voice("openai:alloy", "openai", "Alloy (OpenAI-compatible)", "alloy"),
        Voice("openai:nova", "openai", "Nova (OpenAI-compatible)", "nova"),
        Voice("openai:onyx", "openai", "Onyx (OpenAI-compatible)", "onyx"),
    )
}
PROVIDER_LABELS = {
    "piper": "Piper (offline neural voice)",
    "espeak": "eSpeak NG",
    "silent": "Silent",
    "openai": "OpenAI-compatible speech",
}


class VoiceUnavailable(Exception):
    """The voice cannot be used here; the message says what to install or set."""


class SynthesisError(Exception):
    """An available voice failed while speaking (engine error, HTTP error, timeout)."""


class Synthesizer(Protocol):
    """Speaks one sentence at a time as a mono 16-bit clip at sample_rate."""

    sample_rate: int

    def synthesize(self, text: str) -> Clip:
        """One sentence in, one clip out."""
        ...


def get_synthesizer(voice_id: str, settings: ProviderSettings,
                    speed: float = 1.0) -> Synthesizer:
    """A ready synthesizer for the voice at `speed` times its own pace (SPEEDS), or
    VoiceUnavailable saying what is missing."""
    if not SPEEDS[0] <= speed <= SPEEDS[1]:
        raise ValueError(f"speed must be between {SPEEDS[0]} and {SPEEDS[1]}, got {speed}")
    voice = _voice(voice_id)
    if voice.provider == "piper":
        return PiperSynthesizer(_load_piper(settings), speed)
    if voice.provider == "espeak":
        return EspeakSynthesizer(voice.name, settings.espeak_binary, speed)
    if voice.provider == "openai":
        if not settings.openai_configured:
            raise VoiceUnavailable(OPENAI_NEEDS)
        return OpenAISynthesizer(voice.name, settings, speed)
    return SilentSynthesizer(speed)


def voice_status(settings: ProviderSettings) -> list[ProviderStatus]:
    """Per provider, whether it can be used here and why not; cheap (loads no model)."""
    piper_problem = piper_engine.problem(settings.piper_model)
    espeak = shutil.which(settings.espeak_binary)
    openai = settings.openai_configured
    openai_detail = f"{settings.openai_tts_model} at {settings.openai_base_url}"
    details = {
        "piper": piper_problem or "Offline neural voice (piper-tts is GPL-3.0, the voice CC0)",
        "espeak": f"Uses {espeak}" if espeak else _espeak_missing(settings.espeak_binary),
        "silent": "No audio: scenes are timed from the text length, for subtitles",
        "openai": openai_detail if openai else OPENAI_NEEDS,
    }
    reasons = {
        "piper": _piper_reason(piper_problem),
        "espeak": None if espeak else NOT_INSTALLED,
        "silent": None,
        "openai": None if openai else "not configured here",
    }
    return [
        ProviderStatus(name, label, reasons[name] is None, details[name], reasons[name])
        for name, label in PROVIDER_LABELS.items()
    ]


def _piper_reason(problem: str | None) -> str | None:
    if problem is None:
        return None
    return NOT_INSTALLED if problem == piper_engine.PIPER_EXTRA else "its model is missing here"


def _voice(voice_id: str) -> Voice:
    try:
        return VOICES[voice_id]
    except KeyError:
        raise VoiceUnavailable(
            f"Unknown voice {voice_id!r}; known voices: {', '.join(VOICES)}"
        ) from None


def _load_piper(settings: ProviderSettings) -> piper_engine.PiperVoiceLike:
    if reason := piper_engine.problem(settings.piper_model):
        raise VoiceUnavailable(reason)
    return piper_engine.load(settings.piper_model)


def _espeak_missing(binary: str) -> str:
    return f"espeak voices need espeak-ng: apt-get install espeak-ng ({binary!r} not found)"


class PiperSynthesizer:
    """Piper ONNX voice; the loaded model comes from piper_engine's per-process cache."""

    def __init__(self, voice: piper_engine.PiperVoiceLike, speed: float = 1.0) -> None:
        self._voice = voice
        self.sample_rate = int(voice.config.sample_rate)
        self._config = piper_engine.at_speed(voice, speed)

    def synthesize(self, text: str) -> Clip:
        """Speak one sentence."""
        try:
            chunks = list(self._voice.synthesize(text, syn_config=self._config))
        except Exception as exc:  # onnxruntime and phonemizer errors have no common base
            raise SynthesisError(f"Piper could not speak {text[:60]!r}: {exc}") from exc
        return Clip(b"".join(c.audio_int16_bytes for c in chunks), self.sample_rate)


class EspeakSynthesizer:
    """espeak-ng in a subprocess; the text goes through stdin so it is never an option."""

    sample_rate = 22050

    def __init__(self, name: str, binary: str, speed: float = 1.0) -> None:
        path = shutil.which(binary)
        if path is None:
            raise VoiceUnavailable(_espeak_missing(binary))
        pace = round(ESPEAK_WORDS_PER_MINUTE * speed)
        self._args = [path, "-v", name, "-s", str(pace), "--stdout", "--stdin"]

    def synthesize(self, text: str) -> Clip:
        """Speak one sentence."""
        try:
            result = subprocess.run(
                self._args,
                input=text.encode("utf-8"),
                capture_output=True,
                timeout=ESPEAK_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SynthesisError(f"espeak-ng took over {ESPEAK_TIMEOUT:g} s") from None
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip()
            raise SynthesisError(f"espeak-ng failed (exit {result.returncode}): {detail}")
        try:
            clip = decode_wav(result.stdout)
        except ValueError as exc:
            raise SynthesisError(f"espeak-ng produced no usable WAV: {exc}") from None
        return resample(clip, self.sample_rate)


class SilentSynthesizer:
    """No audio engine: silence lasting about as long as reading the text takes."""

    sample_rate = SILENT_RATE

    def __init__(self, speed: float = 1.0) -> None:
        self._speed = speed

    def synthesize(self, text: str) -> Clip:
        """Silence of max(0.6 s, characters / 15 / speed) seconds."""
        seconds = max(SILENT_MINIMUM,
                      len(text.strip()) / SILENT_CHARS_PER_SECOND / self._speed)
        return Clip(bytes(2 * round(seconds * self.sample_rate)), self.sample_rate)


class OpenAISynthesizer:
    """POST {base}/audio/speech for each sentence and decode the WAV it returns."""

    sample_rate = OPENAI_RATE

    def __init__(self, name: str, settings: ProviderSettings, speed: float = 1.0) -> None:
        self._name = name
        self._settings = settings
        self._speed = speed

    def synthesize(self, text: str) -> Clip:
        """Speak one sentence."""
        payload = {
            "model": self._settings.openai_tts_model,
            "voice": self._name,
            "input": text,
            "response_format": "wav",
        }
        if self._speed != 1.0:  # OpenAI's own range is 0.25 to 4.0
            payload["speed"] = self._speed
        try:
            response = post_json(self._settings, "audio/speech", payload)
        except RemoteError as exc:
            raise SynthesisError(f"The speech endpoint failed: {exc}") from None
        try:
            clip = decode_wav(response.content)
        except ValueError as exc:
            raise SynthesisError(f"The speech endpoint sent no usable WAV: {exc}") from None
        return resample(clip, self.sample_rate)
