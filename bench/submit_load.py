"""The load generator of bench/submit.py: N connections, each posting as fast as answered."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gc_pause import without_gc_pauses
from http_load import Client, HTTPError, event_loop_policy


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


async def _client(http: Client, path: str, headers: dict, deadline: float,
                  stats: Stats, number: int) -> None:
    """Post, await the answer, post again, until the deadline."""
    sent = 0
    headers = {**headers, "Content-Type": "application/json"}
    while time.perf_counter() < deadline:
        sent += 1
        started = time.perf_counter()
        payload = json.dumps({"message": f"c{number} r{sent}"}).encode()
        try:
            status, raw = await http.request("POST", path, headers, payload, timeout=30)
            body = json.loads(raw) if status == 202 else None
        except (HTTPError, ValueError):
            stats.errors += 1
            continue
        stats.latencies.append(1000 * (time.perf_counter() - started))
        stats.statuses[status] += 1
        if status == 202:
            stats.accepted.append(body["id"])


async def _load(url: str, headers: list[dict], connections: int, seconds: float) -> Stats:
    stats = Stats()
    target = urlsplit(url)
    http = Client(f"{target.scheme}://{target.netloc}", connections)
    try:
        with without_gc_pauses():
            started = time.perf_counter()
            deadline = started + seconds
            await asyncio.gather(*(_client(http, target.path, headers[n % len(headers)],
                                           deadline, stats, n) for n in range(connections)))
            stats.seconds = time.perf_counter() - started
    finally:
        http.close()
    return stats


def load(url: str, headers: list[dict], connections: int, seconds: float) -> Stats:
    """Post to `url` from `connections` connections for `seconds`; connection n sends
    headers[n % len(headers)]."""
    event_loop_policy()
    return asyncio.run(_load(url, headers, connections, seconds))
