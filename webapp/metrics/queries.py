"""The numbers of the metrics page and GET /api/v1/metrics, as plain dataclasses.

Every figure is about the jobs that finished or failed inside the window (by ended_at):
throughput per bucket, the failure rate (failed / (finished + failed)), and p50/p95 of their
queue wait (queued to started; the last attempt's) and run time (started to ended), overall,
per bucket, by task, by queue and for each render stage. Percentiles are estimated from the
fixed bins of webapp/histogram.py: within 19% of the exact value (10 ms below 10 ms).

1 h is counted from the rows themselves (index-only); 24 h and 7 d from the reconciler's
hourly rollup, plus the rows of the hours it has not rolled up yet, so they are as fresh as
the 1 h window and still correct, only slower, when no reconciler runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from webapp import histogram
from webapp.jobs import rollup
from webapp.jobs.rollup import Cell
from webapp.render.outputs import STAGES


@dataclass(frozen=True)
class Window:
    """A window the metrics can cover, and the width of its buckets."""

    name: str
    label: str
    bucket: timedelta
    buckets: int
    from_rollup: bool


WINDOWS = {w.name: w for w in (
    Window("1h", "1 hour", timedelta(minutes=1), 60, False),
    Window("24h", "24 hours", timedelta(hours=1), 24, True),
    Window("7d", "7 days", timedelta(hours=6), 28, True),
)}
DEFAULT_WINDOW = "24h"


@dataclass(frozen=True)
class Durations:
    """Percentiles of some durations, in seconds (None when there are none)."""

    count: int
    p50: float | None
    p95: float | None
    mean: float | None


@dataclass(frozen=True)
class Figures:
    """Throughput, failure rate, wait and run time of one group of jobs."""

    name: str
    finished: int
    failed: int
    failure_rate: float | None
    wait: Durations
    run: Durations


@dataclass(frozen=True)
class Point:
    """One bucket of the window, starting at `start`."""

    start: datetime
    figures: Figures


@dataclass(frozen=True)
class Metrics:
    """Everything the page and the API show for one window."""

    window: Window
    start: datetime
    end: datetime
    total: Figures
    series: list[Point]
    by_task: list[Figures]
    by_queue: list[Figures]
    stages: list[Figures]


def window_start(window: Window, now: datetime) -> datetime:
    """The start of the window's first bucket: the current bucket is its last one."""
    return rollup.floor(now, window.bucket) - (window.buckets - 1) * window.bucket


def cells_for(window: Window, now: datetime) -> list[Cell]:
    """The window's ended jobs, per bucket of the window's width, task and queue."""
    start = window_start(window, now)
    if not window.from_rollup:
        return rollup.ended_cells(start, now, window.bucket)
    rolled_to = rollup.rolled_up_to()
    if rolled_to is None or rolled_to <= start:
        return rollup.ended_cells(start, now, window.bucket)
    rolled_to = min(rolled_to, now)
    hourly = [*rollup.rolled_cells(start, rolled_to),
              *rollup.ended_cells(rolled_to, now, rollup.HOUR)]
    return rebucket(hourly, window.bucket)


def rebucket(cells: Iterable[Cell], step: timedelta) -> list[Cell]:
    """Hourly cells added up into buckets of `step` (a multiple of an hour)."""
    merged: dict[tuple, Cell] = {}
    for cell in cells:
        key = (rollup.floor(cell.bucket, step), cell.task, cell.queue)
        if key not in merged:
            merged[key] = Cell(*key)
        merged[key].add(cell)
    return list(merged.values())


def metrics(window: Window, now: datetime) -> Metrics:
    """The window's numbers, ending at `now`."""
    cells = cells_for(window, now)
    start = window_start(window, now)
    buckets = [start + i * window.bucket for i in range(window.buckets)]
    by_bucket = _group(cells, lambda c: c.bucket)
    by_task = _group(cells, lambda c: c.task)
    return Metrics(
        window=window, start=start, end=now,
        total=figures("all", cells),
        series=[Point(b, figures(b.isoformat(), by_bucket.get(b, []))) for b in buckets],
        by_task=[figures(name, group) for name, group in sorted(by_task.items())],
        by_queue=[figures(name, group)
                  for name, group in sorted(_group(cells, lambda c: c.queue).items())],
        stages=[figures(stage, by_task.get(stage, [])) for stage in STAGES],
    )


def _group(cells: Iterable[Cell], key) -> dict:
    groups: dict = {}
    for cell in cells:
        groups.setdefault(key(cell), []).append(cell)
    return groups


def figures(name: str, cells: list[Cell]) -> Figures:
    """The figures of these cells added together."""
    total = Cell(None, name, name)  # type: ignore[arg-type]
    for cell in cells:
        total.add(cell)
    ended = total.finished + total.failed
    return Figures(name=name, finished=total.finished, failed=total.failed,
                   failure_rate=total.failed / ended if ended else None,
                   wait=durations(total.wait, total.wait_sum),
                   run=durations(total.run, total.run_sum))


def durations(counts: list[int], seconds: float) -> Durations:
    n = sum(counts)
    return Durations(count=n, p50=histogram.quantile(counts, 0.5),
                     p95=histogram.quantile(counts, 0.95), mean=seconds / n if n else None)


def to_dict(result: Metrics) -> dict:
    """The JSON of GET /api/v1/metrics."""
    window = result.window
    return {
        "window": window.name,
        "bucket_seconds": int(window.bucket.total_seconds()),
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
        "percentile_error": round(histogram.RATIO - 1, 3),
        "total": _figures_dict(result.total),
        "series": [{"start": p.start.isoformat(), **_figures_dict(p.figures, named=False)}
                   for p in result.series],
        "by_task": [_figures_dict(f) for f in result.by_task],
        "by_queue": [_figures_dict(f) for f in result.by_queue],
        "stages": [_figures_dict(f) for f in result.stages],
    }


def _figures_dict(f: Figures, named: bool = True) -> dict:
    body = {"finished": f.finished, "failed": f.failed, "failure_rate": f.failure_rate,
            "wait_seconds": _durations_dict(f.wait), "run_seconds": _durations_dict(f.run)}
    return {"name": f.name, **body} if named else body


def _durations_dict(d: Durations) -> dict:
    return {"count": d.count, "p50": d.p50, "p95": d.p95, "mean": d.mean}
