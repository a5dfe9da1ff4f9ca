"""POSTs to an OpenAI-compatible endpoint, with failures turned into one readable message."""

from __future__ import annotations

from typing import Any

import httpx

from webapp.video.settings import ProviderSettings

BODY_EXCERPT = 300


class RemoteError(Exception):
    """The remote endpoint failed; the message names the URL and what went wrong."""


def post_json(settings: ProviderSettings, endpoint: str, payload: dict[str, Any]) -> httpx.Response:
    """POST payload as JSON to {base}/{endpoint} with the bearer key; raise RemoteError."""
    url = settings.openai_url(endpoint)
    headers = {"Authorization": f"Bearer {settings.openai_api_key}"}
    try:
        response = httpx.post(url, json=payload, headers=headers, timeout=settings.http_timeout)
    except httpx.TimeoutException:
        raise RemoteError(f"{url} did not answer within {settings.http_timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise RemoteError(f"Could not reach {url}: {exc}") from None
    if response.status_code >= 400:
        raise RemoteError(f"{url} returned HTTP {response.status_code}: {excerpt(response)}")
    return response


def excerpt(response: httpx.Response) -> str:
    """The start of a response body on one line, for error messages."""
    text = " ".join(response.text.split())
    return text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else "") or "(empty body)"
