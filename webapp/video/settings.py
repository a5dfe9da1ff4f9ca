"""Provider settings passed in by the app (the library never reads the environment)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderSettings:
    """Where remote providers live and which local engines to use."""

    openai_base_url: str | None = None
    openai_api_key: str | None = None
    openai_script_model: str = "gpt-4o-mini"
    openai_tts_model: str = "tts-1"
    # Path to a piper .onnx voice; None means the packaged en_US-joe-medium.
    piper_model: str | None = None
    espeak_binary: str = "espeak-ng"
    http_timeout: float = 60.0

    @property
    def openai_configured(self) -> bool:
        """True when both the OpenAI-compatible base URL and key are set."""
        return bool(self.openai_base_url and self.openai_api_key)

    def openai_url(self, endpoint: str) -> str:
        """The full URL of an endpoint such as "chat/completions" under the base URL."""
        return f"{(self.openai_base_url or '').rstrip('/')}/{endpoint}"


@dataclass(frozen=True)
class ProviderStatus:
    """Whether a script or voice provider can be used here, and what to do if not.

    `detail` describes it when available and says what to install or set when not; `reason`
    is the short why-not for a menu ("not installed here"), None when available.
    """

    name: str
    label: str
    available: bool
    detail: str
    reason: str | None = None
