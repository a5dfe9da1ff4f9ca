"""Whether each stock provider can be used here, in the shape of the voices' statuses."""

from __future__ import annotations

from webapp.stock.settings import PROVIDERS, StockSettings
from webapp.video.settings import ProviderStatus

NOT_CONFIGURED = "not configured here"


def stock_status(settings: StockSettings) -> list[ProviderStatus]:
    """Per stock provider: available with a key, else why not and which setting to set."""
    statuses = []
    for provider in PROVIDERS.values():
        if settings.key(provider.name):
            cached = (f"searches cached for {settings.cache_ttl} s" if settings.cache_ttl
                      else "searches not cached (STOCK_CACHE_TTL=0)")
            detail = (f"Pictures and clips from {settings.base_url(provider.name)}; "
                      f"{cached}")
            statuses.append(ProviderStatus(provider.name, provider.label, True, detail))
        else:
            detail = (f"{provider.label} needs {provider.key_setting} (a free key from "
                      f"{provider.signup})")
            statuses.append(ProviderStatus(provider.name, provider.label, False, detail,
                                           NOT_CONFIGURED))
    return statuses
