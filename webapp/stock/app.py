"""The stock library bound to the Flask app: settings from its config, the Redis client the
cache uses, and why a provider cannot be used (for validating a project's setting)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app
from redis import Redis

from webapp.jobs.connection import get_quick_redis
from webapp.stock.download import download
from webapp.stock.items import StockItem
from webapp.stock.search import DEFAULT_LIMIT, search
from webapp.stock.settings import PROVIDERS, StockSettings
from webapp.stock.status import stock_status


def stock_settings(config: Mapping[str, Any] | None = None) -> StockSettings:
    """StockSettings from PEXELS_*, PIXABAY_*, STOCK_CACHE_TTL and PROVIDER_HTTP_TIMEOUT."""
    config = current_app.config if config is None else config
    return StockSettings(
        pexels_api_key=config["PEXELS_API_KEY"],
        pixabay_api_key=config["PIXABAY_API_KEY"],
        pexels_base_url=config["PEXELS_BASE_URL"],
        pixabay_base_url=config["PIXABAY_BASE_URL"],
        cache_ttl=config["STOCK_CACHE_TTL"],
        http_timeout=config["PROVIDER_HTTP_TIMEOUT"],
    )


def stock_cache() -> Redis:
    """The client searches are cached through: the app's quick one (half a second at
    most, no retries), since a search without the cache only costs an API call."""
    return get_quick_redis()


def search_stock(provider: str, query: str, *, kind: str = "picture",
                 orientation: str = "landscape", limit: int = DEFAULT_LIMIT
                 ) -> list[StockItem]:
    """search() with this app's settings and cache (see webapp.stock.search)."""
    return search(stock_settings(), provider, query, kind=kind, orientation=orientation,
                  limit=limit, redis=stock_cache())


def download_stock(item: StockItem, path: Path, max_bytes: int) -> Path:
    """download() with this app's settings (see webapp.stock.download)."""
    return download(stock_settings(), item, path, max_bytes)


def stock_problem(provider: str) -> str | None:
    """Why stock media from this provider would fail here (which setting to set), or None."""
    if provider not in PROVIDERS:
        return f"Unknown stock provider {provider!r}; known: {', '.join(PROVIDERS)}."
    status = next(s for s in stock_status(stock_settings()) if s.name == provider)
    if status.available:
        return None
    return f"{status.label} is {status.reason}: {status.detail}."
