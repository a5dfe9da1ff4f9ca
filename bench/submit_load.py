"""The load generator of bench/submit.py: N connections, each posting as fast as answered."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from gc_pause import without_gc_pauses


@dataclass
class Stats:
    """What one run saw: latencies (ms) of every answer, statuses, the accepted job ids."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    accepted: list[str] = field(default_factory=list)
    errors: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def line(self) -> str:
        return (f"{self.rate:7.0f} req/s  p50 {self.pct(0.5):6.1f} ms  p99 {self.pct(0.99):6.1f}"
                f" ms  statuses {dict(self.statuses)}  errors {self.errors}")


async def _client(http: aiohttp.ClientSession, url: str, headers: dict, deadline: float,
                  stats: Stats, number: int) -> None:
    """Post, await the answer, post again, until the deadline."""
    sent = 0
    while time.perf_counter() < deadline:
        sent += 1
        started = time.perf_counter()
        try:
            async with http.post(url, json={"message": f"c{number} r{sent}"},
                                 headers=headers) as answer:
                body = await answer.json(content_type=None)
                status = answer.status
        except (TimeoutError, aiohttp.ClientError, ValueError):
            stats.errors += 1
            continue
        stats.latencies.append(1000 * (time.perf_counter() - started))
        stats.statuses[status] += 1
        if status == 202:
            stats.accepted.append(body["id"])


async def _load(url: str, headers: list[dict], connections: int, seconds: float) -> Stats:
    stats = Stats()
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        with without_gc_pauses():
            started = time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(*(_client(http, url, headers[n % len(headers)], deadline,
                                           stats, n) for n in range(connections)))
            stats.seconds = time.perf_counter() - started
    return stats


def load(url: str, headers: list[dict], connections: int, seconds: float) -> Stats:
    """Post to `url` from `connections` connections for `seconds`; connection n sends
    headers[n % len(headers)]."""
    return asyncio.run(_load(url, headers, connections, seconds))
