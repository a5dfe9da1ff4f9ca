"""Downloading a chosen item to a file: only from its provider's hosts, within a byte limit.

The file is not checked here: the caller passes it through webapp/media/inspect.py like an
upload. Only HTTPS URLs on the provider's file hosts (and the host of its configured base
URL, a fake server in the tests) are fetched, redirects are followed by hand at most
MAX_REDIRECTS times and only within those hosts, and a partial file is deleted on failure.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import httpx

from webapp.stock.api import check
from webapp.stock.items import StockError, StockItem
from webapp.stock.settings import PROVIDERS, StockSettings, origin_of

MAX_REDIRECTS = 3
CHUNK = 1 << 16
NAMES = {"picture": "picture", "clip": "clip"}


def download(settings: StockSettings, item: StockItem, path: Path, max_bytes: int) -> Path:
    """Stream the item's file to `path` (at most max_bytes) and return it; StockError for a
    refused host or redirect, an HTTP error, a timeout or a file over the limit, with
    nothing left at `path`."""
    path = Path(path)
    try:
        _fetch(settings, item, path, max_bytes)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _fetch(settings: StockSettings, item: StockItem, path: Path, max_bytes: int) -> None:
    label = PROVIDERS[item.provider].label
    allowed = settings.file_origins(item.provider)
    url = item.url
    for _ in range(MAX_REDIRECTS + 1):
        _refuse_unless_allowed(url, allowed, label)
        try:
            with httpx.stream("GET", url, timeout=settings.http_timeout) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("Location", ""))
                    continue
                check(response, item.provider, "download")
                _write(response, path, max_bytes, item, label)
                return
        except httpx.TimeoutException:
            raise StockError(f"The {label} {NAMES[item.kind]} did not arrive within "
                             f"{settings.http_timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise StockError(f"Could not download the {label} {NAMES[item.kind]}: "
                             f"{exc or type(exc).__name__}") from None
    raise StockError(f"The {label} download was redirected more than {MAX_REDIRECTS} times")


def _refuse_unless_allowed(url: str, allowed: set[tuple[str, str]], label: str) -> None:
    scheme, host = origin_of(url)
    if (scheme, host) not in allowed:
        shown = f"{scheme}://{host}" if host else repr(url[:80])
        raise StockError(f"Refusing to download from {shown}: not a {label} file host "
                         "over HTTPS")


def _write(response: httpx.Response, path: Path, max_bytes: int, item: StockItem,
           label: str) -> None:
    too_big = StockError(f"The {label} {NAMES[item.kind]} is larger than "
                         f"{max_bytes / 2**20:.3g} MB")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_big
    written = 0
    with path.open("wb") as out:
        for chunk in response.iter_bytes(CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise too_big
            out.write(chunk)
