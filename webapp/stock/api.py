"""GETs to a stock API with every failure turned into one StockError a person can act on.

No retries: a refused key or a rate limit does not get better by asking again at once, and
the render stage that searches is retried as a whole. Pixabay takes its key in the query
string, so httpx's request log lines are redacted (`key=***`) and messages never show a URL.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from webapp.stock.items import StockError
from webapp.stock.settings import PROVIDERS
from webapp.video.remote import BODY_EXCERPT, excerpt

BODY_BYTES = 4096
_KEY_PARAM = re.compile(r"([?&]key=)[^&\s\"']+")


class _RedactKeys(logging.Filter):
    """Hides `key=...` in httpx's "HTTP Request: GET <url>" lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(_KEY_PARAM.sub(r"\1***", str(a)) if isinstance(a, httpx.URL)
                                else a for a in record.args)
        return True


_httpx_log = logging.getLogger("httpx")
if not any(isinstance(f, _RedactKeys) for f in _httpx_log.filters):
    _httpx_log.addFilter(_RedactKeys())


@dataclass(frozen=True)
class ApiRequest:
    """One search request: provider, URL, query parameters and headers."""

    provider: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def get_json(request: ApiRequest, timeout: float) -> Any:
    """The decoded JSON answer to the request, or StockError saying what went wrong."""
    label = PROVIDERS[request.provider].label
    try:
        response = httpx.get(request.url, params=request.params, headers=request.headers,
                             timeout=timeout)
    except httpx.TimeoutException:
        raise StockError(f"{label} did not answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise StockError(f"Could not reach {label}: {_redacted(exc)}") from None
    check(response, request.provider, "search")
    try:
        return response.json()
    except ValueError:
        raise StockError(f"{label} answered the search with something other than JSON: "
                         f"{excerpt(response)}") from None


def check(response: httpx.Response, provider: str, what: str) -> None:
    """StockError for an HTTP error answer: a refused key, rate limiting, anything else."""
    code = response.status_code
    if code < 400:
        return
    source = PROVIDERS[provider]
    refused = code in (401, 403) or (code == 400 and "key" in _body(response).lower())
    if what == "search" and refused:  # downloads send no key: a 403 there is the file's
        raise StockError(f"The {source.label} key was refused: check {source.key_setting}")
    if code == 429:
        raise StockError(f"{source.label} is rate limiting this server (HTTP 429, too many "
                         f"requests): try again {_retry_after(response)}")
    raise StockError(f"The {source.label} {what} failed with HTTP {code}: "
                     f"{_redacted(_body(response))}")


def _body(response: httpx.Response) -> str:
    """The start of an error answer on one line; of a streamed download, only its first
    BODY_BYTES are read (an error page can be as large as a file)."""
    try:
        raw = response.content
    except httpx.ResponseNotRead:
        raw = b""
        try:
            for chunk in response.iter_bytes():
                raw += chunk
                if len(raw) >= BODY_BYTES:
                    break
        except httpx.HTTPError:
            pass
    text = " ".join(raw[:BODY_BYTES].decode("utf-8", "replace").split())
    return text[:BODY_EXCERPT] + ("…" if len(text) > BODY_EXCERPT else "") or "(empty body)"


def _retry_after(response: httpx.Response) -> str:
    """"in N s" from Retry-After (Pexels) or X-RateLimit-Reset (Pixabay), else "later"."""
    for name in ("Retry-After", "X-RateLimit-Reset"):
        value = response.headers.get(name, "").strip()
        if value.isdigit():
            return f"in {int(value)} s"
    return "later"


def _redacted(problem: Exception | str) -> str:
    """The text with any `key=...` hidden (an exception: its message, else its type)."""
    return _KEY_PARAM.sub(r"\1***", str(problem)) or type(problem).__name__
