"""Stock provider settings passed in by the app (the library never reads the environment),
and what each provider is: its label, the setting holding its key, its file hosts."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

KINDS = ("picture", "clip")
ORIENTATIONS = ("landscape", "portrait", "square")


@dataclass(frozen=True)
class Provider:
    """One stock library: key (pexels), label, the setting of its API key, where to get a
    key, and the hosts (HTTPS only) its pictures and clips are downloaded from."""

    name: str
    label: str
    key_setting: str
    signup: str
    file_hosts: tuple[str, ...]


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider("pexels", "Pexels", "PEXELS_API_KEY", "https://www.pexels.com/api/",
                 ("images.pexels.com", "videos.pexels.com", "player.vimeo.com")),
        Provider("pixabay", "Pixabay", "PIXABAY_API_KEY", "https://pixabay.com/api/docs/",
                 ("pixabay.com", "cdn.pixabay.com")),
    )
}


@dataclass(frozen=True)
class StockSettings:
    """The API keys (None: that provider is unavailable), base URLs, the cache's lifetime
    and the HTTP timeout (PROVIDER_HTTP_TIMEOUT)."""

    pexels_api_key: str | None = None
    pixabay_api_key: str | None = None
    pexels_base_url: str = "https://api.pexels.com"
    pixabay_base_url: str = "https://pixabay.com/api"
    cache_ttl: int = 24 * 3600
    http_timeout: float = 60.0

    def key(self, provider: str) -> str | None:
        """The provider's API key, or None when it is not set."""
        return {"pexels": self.pexels_api_key, "pixabay": self.pixabay_api_key}[provider]

    def base_url(self, provider: str) -> str:
        """The provider's API base URL, without a trailing slash."""
        base = {"pexels": self.pexels_base_url, "pixabay": self.pixabay_base_url}[provider]
        return base.rstrip("/")

    def file_origins(self, provider: str) -> set[tuple[str, str]]:
        """(scheme, host) pairs files of this provider may come from: its CDN hosts over
        HTTPS, and the host of its configured base URL (a fake server in the tests)."""
        base = urlsplit(self.base_url(provider))
        origins = {("https", host) for host in PROVIDERS[provider].file_hosts}
        origins.add((base.scheme, _host_port(base.hostname or "", base.port)))
        return origins


def _host_port(host: str, port: int | None) -> str:
    return f"{host}:{port}" if port else host


def origin_of(url: str) -> tuple[str, str]:
    """(scheme, host[:port]) of a URL, lower-cased, as file_origins() lists them."""
    parts = urlsplit(url)
    return parts.scheme.lower(), _host_port((parts.hostname or "").lower(), parts.port)
