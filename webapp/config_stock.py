"""Stock media settings (webapp/stock/): the Pexels and Pixabay keys, where their APIs are,
and how long a search is remembered."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from webapp.config_values import ConfigError, int_value

BASE_URLS = {"PEXELS_BASE_URL": "https://api.pexels.com",
             "PIXABAY_BASE_URL": "https://pixabay.com/api"}
DAY = 24 * 3600


def stock_config(env: Mapping[str, str]) -> dict:
    """PEXELS_API_KEY, PIXABAY_API_KEY (unset: that provider is unavailable), their base
    URLs (tests point them at a fake server) and STOCK_CACHE_TTL (0: no cache)."""
    return {
        "PEXELS_API_KEY": _key(env, "PEXELS_API_KEY"),
        "PIXABAY_API_KEY": _key(env, "PIXABAY_API_KEY"),
        **{name: _base_url(env, name, default) for name, default in BASE_URLS.items()},
        "STOCK_CACHE_TTL": int_value(env, "STOCK_CACHE_TTL", DAY, minimum=0),
    }


def _key(env: Mapping[str, str], name: str) -> str | None:
    key = (env.get(name) or "").strip() or None
    if key is not None and (not key.isascii() or any(c.isspace() for c in key)):
        raise ConfigError(f"{name} must be the API key as the provider shows it (printable "
                          "ASCII, no spaces)")
    return key


def _base_url(env: Mapping[str, str], name: str, default: str) -> str:
    url = (env.get(name) or "").strip() or default
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment:
        raise ConfigError(f"{name} must be an http:// or https:// URL such as {default}, "
                          f"got {url!r}")
    return url.rstrip("/")
