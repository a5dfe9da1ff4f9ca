"""The load generator of bench/poll.py: dashboards that poll as htmx does, on a schedule.

Each dashboard keeps what its page would hold: the poller's URL and the live inputs of its
cards, updated from every answer (out-of-band cards and the poller), and asks at fixed
times (every interval, from a random phase), whether or not the previous answer came: the
latency of a slow server shows instead of hiding behind fewer requests. Latency runs from
the scheduled time to the end of the answer, so waiting for a free connection counts too.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urlencode

from gc_pause import without_gc_pauses
from http_load import Client, HTTPError

POLLER_URL = re.compile(r'<div id="live-poll" hidden[^>]*?hx-get="([^"]+)"')
LIVE_INPUT = re.compile(r'class="live-state" name="c" value="([0-9a-f]{32})~([0-9a-f]+)"')
SWAPPED_CARD = re.compile(r'id="job-([0-9a-f-]{36})"[^>]*hx-swap-oob')
USER_AGENT = "cutroom-bench/1"


@dataclass
class Dashboard:
    """One open home page: its session cookie, poller URL and live cards."""

    cookie: str
    poll_url: str
    cards: dict[str, str]  # job id (hex) -> tag
    job_ids: list[str] = field(default_factory=list)  # the card ids, for per-card polling
    _path: str = ""  # poll_path(), until an answer changes the page

    def poll_path(self) -> str:
        if not self._path:
            path, _, query = self.poll_url.partition("?")
            extra = urlencode([("c", f"{job}~{tag}") for job, tag in self.cards.items()])
            self._path = f"{path}?{query}&{extra}" if query else f"{path}?{extra}"
        return self._path

    def apply(self, html: str) -> None:
        """What htmx does with an answer: swap the cards in, take the new poller."""
        self._path = ""
        for swapped in SWAPPED_CARD.findall(html):
            self.cards.pop(swapped.replace("-", ""), None)
        self.cards.update(LIVE_INPUT.findall(html))
        if found := POLLER_URL.search(html):
            self.poll_url = unescape(found.group(1))


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # ms
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0
    seconds: float = 0.0
    server_ms: float = 0.0  # the server's CPU per request (bench/poll.py's phase)
    since: float = 0.0  # requests due before this (perf_counter) are sent, not counted
    metered: float = 0.0  # what run()'s meter grew by while requests were counted

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def share(self, status: int) -> float:
        return self.statuses[status] / max(1, sum(self.statuses.values()))

    def line(self) -> str:
        return (f"{self.rate:7.0f} req/s  p50 {statistics.median(self.latencies or [0]):6.1f} ms"
                f"  p99 {self.pct(0.99):7.1f} ms  204 {100 * self.share(204):5.1f} %"
                f"  errors {self.errors}")


def _headers(dashboard: Dashboard, base: str) -> dict[str, str]:
    return {"Cookie": f"session={dashboard.cookie}", "HX-Request": "true",
            "HX-Current-URL": f"{base}/", "User-Agent": USER_AGENT}


async def _ask(http: Client, path, headers, stats, due, timeout) -> str | None:
    counted = due >= stats.since
    try:
        status, body = await http.request("GET", path, headers, timeout=timeout)
        if counted:
            stats.statuses[status] += 1
        if status not in (200, 204):
            stats.errors += counted
            return None
        return body.decode()
    except HTTPError:
        stats.errors += counted
        return None
    finally:
        if counted:
            stats.latencies.append((time.perf_counter() - due) * 1000)


async def _schedule(interval: float, seconds: float, ask) -> None:
    """Call ask(due) every interval from a random phase, until `seconds` are over."""
    start = time.perf_counter()
    due = start + random.uniform(0, interval)
    tasks = []
    while due < start + seconds:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(ask(due)))
        due += interval
    await asyncio.gather(*tasks)


async def _after(delay: float, meter) -> float:
    """meter() read `delay` seconds from now (0.0 without a meter)."""
    await asyncio.sleep(delay)
    return meter() if meter else 0.0


async def run(base: str, dashboards: list[Dashboard], interval: float, seconds: float,
              mode: str, connections: int, meter=None) -> Stats:
    """`mode` "poll": each dashboard's one poll; "cards": each card's own fragment.

    The first interval is a warm-up, sent but not counted: connections open, and each
    dashboard's first poll catches up on what changed since its last one, in an earlier
    phase (bench/poll.py changes jobs only while a phase runs).
    `meter()` (the server's CPU seconds, say) is read as the warm-up ends and at the end;
    the difference is `stats.metered`.
    """
    stats = Stats()
    http = Client(base, connections)

    def poller(dashboard):
        async def ask(due):
            body = await _ask(http, dashboard.poll_path(), _headers(dashboard, base), stats,
                              due, 10)
            if body:
                dashboard.apply(body)
        return ask

    def card(dashboard, job_id):
        async def ask(due):
            await _ask(http, f"/jobs/{job_id}/card", _headers(dashboard, base), stats, due, 10)
        return ask

    asks = ([poller(d) for d in dashboards] if mode == "poll" else
            [card(d, job) for d in dashboards for job in d.job_ids])
    try:
        with without_gc_pauses():
            stats.since = time.perf_counter() + interval
            first = asyncio.create_task(_after(interval, meter))
            await asyncio.gather(*(_schedule(interval, interval + seconds, ask)
                                   for ask in asks))
            stats.seconds = time.perf_counter() - stats.since
            stats.metered = (meter() if meter else 0.0) - await first
    finally:
        http.close()
    return stats


async def opening(base: str, dashboards: list[Dashboard], connections: int,
                  at_once: int = 4) -> Stats:
    """Each dashboard's first poll, a few at a time (untimed)."""
    stats = Stats()
    http = Client(base, connections)
    pending = list(dashboards)

    async def worker():
        while pending:
            board = pending.pop()
            body = await _ask(http, board.poll_path(), _headers(board, base), stats,
                              time.perf_counter(), 30)
            if body:
                board.apply(body)

    try:
        await asyncio.gather(*(worker() for _ in range(at_once)))
    finally:
        http.close()
    return stats
