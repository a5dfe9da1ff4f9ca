"""Script providers: an offline template writer and any OpenAI-compatible chat endpoint."""

from __future__ import annotations

import json
import re
from typing import Any

from webapp.video.offline_script import template_script
from webapp.video.remote import RemoteError, post_json
from webapp.video.script import Scene
from webapp.video.settings import ProviderSettings, ProviderStatus

WRITERS = {"template": "Templates (offline)", "openai": "OpenAI-compatible chat model"}
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*(.*?)\s*```\s*$", re.DOTALL)
SYSTEM_PROMPT = (
    "You write narration scripts for short explainer videos. Reply with JSON only, shaped "
    '{"scenes": [{"heading": "...", "narration": "..."}]}. Each heading is at most eight '
    "words. Each narration is two to four plain spoken sentences: no markdown, no lists, "
    "no stage directions, no emoji."
)


class ScriptWriterError(Exception):
    """A script could not be written; the message says what is wrong or what to set."""


def write_script(
    provider: str,
    *,
    title: str,
    topic: str,
    outline: str | None,
    max_scenes: int,
    settings: ProviderSettings,
) -> list[Scene]:
    """Write at most max_scenes scenes with the named provider ("template" or "openai")."""
    if not title.strip():
        raise ScriptWriterError("A script needs a title")
    if max_scenes < 1:
        raise ScriptWriterError(f"max_scenes must be at least 1, got {max_scenes}")
    if provider == "template":
        return template_script(title=title, topic=topic, outline=outline, max_scenes=max_scenes)
    if provider == "openai":
        return _openai_script(title, topic, outline, max_scenes, settings)
    raise ScriptWriterError(
        f"Unknown script provider {provider!r}; known providers: {', '.join(WRITERS)}"
    )


def writer_status(settings: ProviderSettings) -> list[ProviderStatus]:
    """Which script providers can be used with these settings, and what to set if not."""
    openai_detail = (
        f"{settings.openai_script_model} at {settings.openai_base_url}"
        if settings.openai_configured
        else "Set OPENAI_BASE_URL and OPENAI_API_KEY to use an OpenAI-compatible endpoint"
    )
    return [
        ProviderStatus(
            "template",
            WRITERS["template"],
            True,
            "Offline and deterministic: built from the title, topic and outline",
        ),
        ProviderStatus("openai", WRITERS["openai"], settings.openai_configured, openai_detail,
                       None if settings.openai_configured else "not configured here"),
    ]


def _openai_script(
    title: str, topic: str, outline: str | None, max_scenes: int, settings: ProviderSettings
) -> list[Scene]:
    if not settings.openai_configured:
        raise ScriptWriterError(
            "The openai script provider needs OPENAI_BASE_URL and OPENAI_API_KEY set"
        )
    request = f"Title: {title}\nTopic: {topic or title}\nAt most {max_scenes} scenes."
    if outline and outline.strip():
        request += f"\nOutline (one scene per line):\n{outline.strip()}"
    payload = {
        "model": settings.openai_script_model,
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": request},
        ],
        "response_format": {"type": "json_object"},
    }
    try:
        response = post_json(settings, "chat/completions", payload)
    except RemoteError as exc:
        raise ScriptWriterError(f"The script model failed: {exc}") from None
    return parse_scenes(_message_content(response.content))[:max_scenes]


def _message_content(body: bytes) -> str:
    try:
        content = json.loads(body)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ScriptWriterError(
            "The script model's reply is not a chat completion (no choices[0].message.content)"
        ) from None
    if not isinstance(content, str):
        raise ScriptWriterError("The script model's message content is not text")
    return content


def parse_scenes(content: str) -> list[Scene]:
    """Read {"scenes": [{"heading", "narration"}, ...]} from a model's reply (```json ok)."""
    if fenced := _FENCE.match(content):
        content = fenced.group(1)
    try:
        data: Any = json.loads(content)
    except ValueError:
        raise ScriptWriterError(
            f"The script model did not reply with JSON: {content[:200]!r}"
        ) from None
    items = data.get("scenes") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ScriptWriterError('The script model\'s JSON has no "scenes" list')
    scenes = [_scene(i, item) for i, item in enumerate(items)]
    if not scenes:
        raise ScriptWriterError("The script model returned no scenes")
    return scenes


def _scene(index: int, item: Any) -> Scene:
    fields = {}
    for name in ("heading", "narration"):
        value = item.get(name) if isinstance(item, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise ScriptWriterError(f"Scene {index + 1} from the script model has no {name}")
        fields[name] = " ".join(value.split())
    return Scene(**fields)
