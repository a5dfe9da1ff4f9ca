"""Searching a stock provider for pictures or clips, cached by query (cache.py)."""

from __future__ import annotations

from redis import Redis

from webapp.stock import cache, pexels, pixabay
from webapp.stock.api import get_json
from webapp.stock.items import NoResults, StockError, StockItem, StockUnavailable
from webapp.stock.settings import KINDS, ORIENTATIONS, PROVIDERS, StockSettings

DEFAULT_LIMIT = 15
MAX_LIMIT = 80
APIS = {"pexels": pexels, "pixabay": pixabay}
NOUNS = {"picture": "pictures", "clip": "clips"}


def search(settings: StockSettings, provider: str, query: str, *, kind: str = "picture",
           orientation: str = "landscape", limit: int = DEFAULT_LIMIT,
           redis: Redis | None = None) -> list[StockItem]:
    """Up to `limit` pictures or clips (kind) for the query, best matches first, from the
    cache in `redis` when the same search was made within the settings' cache_ttl.

    Raises StockUnavailable without the provider's key, NoResults when nothing matches,
    StockError when the API fails (a refused key, rate limiting, a timeout); ValueError for
    an unknown provider, kind or orientation.
    """
    _check(provider, kind, orientation, limit)
    terms = cache.normalize(query)
    if not terms:
        raise StockError("There is nothing to search for: the scene has no words to use")
    source = PROVIDERS[provider]
    if not settings.key(provider):
        raise StockUnavailable(f"{source.label} is not configured here: set "
                               f"{source.key_setting} (a free key from {source.signup})")
    key = cache.cache_key(provider, kind, orientation, limit, terms)
    items = cache.load(redis, key)
    if items is None:
        items = _ask(settings, provider, terms, kind, orientation, limit)
        cache.store(redis, key, items, settings.cache_ttl)
    if not items:
        raise NoResults(f"{source.label} has no {NOUNS[kind]} for {terms!r}")
    return items


def _ask(settings: StockSettings, provider: str, terms: str, kind: str, orientation: str,
         limit: int) -> list[StockItem]:
    api = APIS[provider]
    data = get_json(api.request(settings, terms, kind, orientation, limit),
                    settings.http_timeout)
    if not isinstance(data, dict):
        raise StockError(f"{PROVIDERS[provider].label} answered the search with an "
                         "unexpected JSON shape")
    try:
        return api.parse(data, kind, orientation)[:limit]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StockError(f"{PROVIDERS[provider].label} answered the search with an "
                         f"unexpected JSON shape ({type(exc).__name__}: {exc})") from None


def _check(provider: str, kind: str, orientation: str, limit: int) -> None:
    if provider not in PROVIDERS:
        raise ValueError(f"unknown stock provider {provider!r}; known: {', '.join(PROVIDERS)}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if orientation not in ORIENTATIONS:
        raise ValueError(f"orientation must be one of {', '.join(ORIENTATIONS)}, got "
                         f"{orientation!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
