"""Every Redis client of every process is made here: from REDIS_URL, or through Sentinel.

With REDIS_SENTINELS set, a client asks the sentinels which server is the master named
REDIS_SENTINEL_MASTER each time it opens a connection (redis-py's SentinelConnectionPool),
so after a failover its next connection goes to the promoted replica: a failover looks to
the processes like a short outage, which they already ride out. REDIS_URL is optional then:
its password, user name, database number and scheme (rediss:// for TLS) apply to the
master, its host and port are not used. Callers pass their own timeouts and retry policy
(`connect`), or copy another client's (`like`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis import ConnectionPool, Redis
from redis.connection import SSLConnection, parse_url
from redis.driver_info import DriverInfo
from redis.sentinel import Sentinel, SentinelConnectionPool
from rq.connections import get_connection_kwargs

# Options of a client that also apply to its connections to the sentinels.
SENTINEL_OPTIONS = ("socket_connect_timeout", "socket_timeout", "socket_keepalive",
                    "socket_keepalive_options", "retry")
# What each new connection tells the server about its client (CLIENT SETINFO), read from the
# package's metadata once per process. redis-py would read it again for every connection it
# opens, and a work-horse opens one for every job: 0.25-0.5 ms a job (bench/throughput.py).
DRIVER = DriverInfo()


def connect(config: Mapping[str, Any], **options: Any) -> Redis:
    """A client of this deployment's Redis (the Sentinel master, if configured), with
    `options` (timeouts, retry, keepalive) for its connections."""
    options = {"driver_info": DRIVER, **options}
    sentinels = config.get("REDIS_SENTINELS")
    if not sentinels:
        return Redis.from_url(config["REDIS_URL"], **options)
    sentinel_options = {k: v for k, v in options.items() if k in SENTINEL_OPTIONS}
    if config.get("REDIS_SENTINEL_PASSWORD"):
        sentinel_options["password"] = config["REDIS_SENTINEL_PASSWORD"]
    sentinel = Sentinel(list(sentinels), sentinel_kwargs=sentinel_options)
    return sentinel.master_for(config["REDIS_SENTINEL_MASTER"],
                               **{**master_options(config.get("REDIS_URL")), **options})


def master_options(url: str | None) -> dict[str, Any]:
    """What REDIS_URL says about the Sentinel master: credentials, database, TLS."""
    if not url:
        return {}
    options = parse_url(url)
    for key in ("host", "port", "path"):
        options.pop(key, None)
    if options.pop("connection_class", None) is SSLConnection:
        options["ssl"] = True
    return options


def like(client: Redis, **overrides: Any) -> Redis:
    """A new client (with a pool of its own) for the same server as `client`, or the same
    Sentinel master, with its options changed by `overrides`."""
    pool = client.connection_pool
    kwargs = {**get_connection_kwargs(client), **overrides}
    kwargs["connection_class"] = pool.connection_class
    if isinstance(pool, SentinelConnectionPool):
        kwargs.pop("connection_pool", None)  # the old pool's link to its sentinels
        sentinels = _sentinels_like(pool.sentinel_manager, overrides)
        return Redis(connection_pool=SentinelConnectionPool(pool.service_name, sentinels,
                                                            **kwargs))
    return Redis(connection_pool=ConnectionPool(**kwargs))


def _sentinels_like(manager: Sentinel, overrides: Mapping[str, Any]) -> Sentinel:
    """The same sentinels, asked with the overridden timeouts (a probe that gives up after
    3 s must not wait longer for a sentinel)."""
    addresses = [(s.connection_pool.connection_kwargs["host"],
                  s.connection_pool.connection_kwargs["port"]) for s in manager.sentinels]
    options = {**manager.sentinel_kwargs,
               **{k: v for k, v in overrides.items() if k in SENTINEL_OPTIONS}}
    return Sentinel(addresses, min_other_sentinels=manager.min_other_sentinels,
                    sentinel_kwargs=options)


def describe(config: Mapping[str, Any]) -> str:
    """Where Redis is, for people: rq-dashboard's instance list (which hides a password)."""
    sentinels = config.get("REDIS_SENTINELS")
    if not sentinels:
        return config["REDIS_URL"]
    hosts = ",".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                     for host, port in sentinels)
    db = master_options(config.get("REDIS_URL")).get("db", 0)
    return f"redis+sentinel://{hosts}/{config['REDIS_SENTINEL_MASTER']}/{db}"
