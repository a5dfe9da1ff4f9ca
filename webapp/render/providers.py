"""Provider settings from the app config, and which providers are usable here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from webapp.stock.app import stock_settings
from webapp.stock.status import stock_status
from webapp.video.settings import ProviderSettings, ProviderStatus
from webapp.video.voices import VOICES, voice_status
from webapp.video.writers import writer_status


def provider_settings(config: Mapping[str, Any] | None = None) -> ProviderSettings:
    """ProviderSettings built from OPENAI_*, PIPER_MODEL, ESPEAK_BINARY and friends."""
    config = current_app.config if config is None else config
    return ProviderSettings(
        openai_base_url=config["OPENAI_BASE_URL"],
        openai_api_key=config["OPENAI_API_KEY"],
        openai_script_model=config["OPENAI_SCRIPT_MODEL"],
        openai_tts_model=config["OPENAI_TTS_MODEL"],
        piper_model=config["PIPER_MODEL"],
        espeak_binary=config["ESPEAK_BINARY"],
        http_timeout=config["PROVIDER_HTTP_TIMEOUT"],
    )


def status() -> dict[str, list[ProviderStatus]]:
    """Script writers, voices and stock media, each with whether it works here and why not."""
    settings = provider_settings()
    return {"script": writer_status(settings), "voice": voice_status(settings),
            "stock": stock_status(stock_settings())}


def unavailable_voices(statuses: list[ProviderStatus] | None = None
                       ) -> dict[str, ProviderStatus]:
    """Each voice that cannot be used here, with its provider's status (saying why)."""
    statuses = voice_status(provider_settings()) if statuses is None else statuses
    off = {s.name: s for s in statuses if not s.available}
    return {key: off[voice.provider] for key, voice in VOICES.items() if voice.provider in off}


def voice_problem(voice_id: str) -> str | None:
    """Why a render with this voice would fail here (what to install or set), or None."""
    status = unavailable_voices().get(voice_id)
    if status is None:
        return None
    return f"{VOICES[voice_id].label} is {status.reason or 'not available here'}: {status.detail}."
