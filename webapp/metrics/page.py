"""What the metrics page shows: the charts of one window's numbers, each with a summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from webapp.jobs.registry import get_task
from webapp.metrics import charts
from webapp.metrics.charts import Series
from webapp.metrics.queries import Durations, Figures, Metrics

# How each window's buckets are named, and which of them get a label on the x axis.
BUCKET_FORMAT = {"1h": ("%H:%M", 10), "24h": ("%H:%M", 4), "7d": ("%b %d %H:%M", 4)}
AXIS_FORMAT = {"1h": "%H:%M", "24h": "%H:%M", "7d": "%b %d"}
BUCKET_NAME = {"1h": "minute", "24h": "hour", "7d": "6 hours"}


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its heading and its SVG."""

    title: str
    svg: Markup


def task_title(name: str) -> str:
    task = get_task(name)
    return task.title if task is not None else name


def charts_for(result: Metrics) -> list[Chart]:
    """Every chart of the page for this window's numbers."""
    name = result.window.name
    fmt, every = BUCKET_FORMAT[name]
    times = [p.start for p in result.series]
    titles = [t.strftime(fmt) + " UTC" for t in times]
    axis = [t.strftime(AXIS_FORMAT[name]) for t in times]
    per = f"per {BUCKET_NAME[name]}, last {result.window.label}"
    figures = [p.figures for p in result.series]
    return [
        _throughput(result, per, titles, axis, every),
        Chart("Failure rate", _series_chart(
            f"Failure rate {per}", titles, axis, every, charts.percent,
            [Series("failed / ended", "chart-failed", [f.failure_rate for f in figures])],
            f"{charts.percent(result.total.failure_rate)} overall")),
        _percentile_chart("Queue wait (queued to started)", per, titles, axis, every,
                          [f.wait for f in figures], result.total.wait),
        _percentile_chart("Run time (started to ended)", per, titles, axis, every,
                          [f.run for f in figures], result.total.run),
        _groups_chart("Run time by task", result.by_task, lambda f: f.run, task_title),
        _groups_chart("Run time by render stage", result.stages, lambda f: f.run,
                      task_title),
        _groups_chart("Queue wait by task", result.by_task, lambda f: f.wait, task_title),
        _groups_chart("Queue wait by queue", result.by_queue, lambda f: f.wait, str),
    ]


def _throughput(result: Metrics, per: str, titles, axis, every: int) -> Chart:
    points = [p.figures for p in result.series]
    ended = [f.finished + f.failed for f in points]
    busiest = max(range(len(ended)), key=ended.__getitem__) if ended else 0
    label = (f"Jobs finished and failed {per}: {result.total.finished:,} finished and "
             f"{result.total.failed:,} failed in all")
    if ended and ended[busiest]:
        label += f"; most in one bucket: {ended[busiest]:,} at {titles[busiest]}"
    svg = charts.stacked_bars(label + ".", titles, [
        Series("finished", "chart-finished", [f.finished for f in points]),
        Series("failed", "chart-failed", [f.failed for f in points]),
    ], every, labels=axis)
    return Chart("Throughput", svg)


def _series_chart(label: str, titles, axis, every: int, fmt: Callable, series: list[Series],
                  overall: str) -> Markup:
    peaks = []
    for s in series:
        known = [(v, i) for i, v in enumerate(s.values) if v is not None]
        if known:
            value, i = max(known)
            peaks.append(f"highest {s.name} {fmt(value)} at {titles[i]}")
    summary = f"{label}: {overall}" + (f"; {', '.join(peaks)}" if peaks else "; no jobs ended")
    return charts.lines(summary + ".", titles, series, every, fmt, labels=axis)


def _percentile_chart(title: str, per: str, titles, axis, every: int,
                      points: Sequence[Durations], total: Durations) -> Chart:
    overall = f"p50 {charts.seconds(total.p50)} and p95 {charts.seconds(total.p95)} overall"
    svg = _series_chart(f"{title} {per}", titles, axis, every, charts.seconds, [
        Series("p50", "chart-p50", [d.p50 for d in points]),
        Series("p95", "chart-p95", [d.p95 for d in points]),
    ], overall)
    return Chart(title, svg)


def _groups_chart(title: str, groups: Sequence[Figures], pick: Callable[[Figures], Durations],
                  name: Callable[[str], str]) -> Chart:
    names = [name(f.name) for f in groups]
    values = [pick(f) for f in groups]
    parts = [f"{n} p50 {charts.seconds(d.p50)}, p95 {charts.seconds(d.p95)}"
             for n, d in zip(names, values, strict=True)]
    label = f"{title}: " + ("; ".join(parts) if parts else "no jobs ended") + "."
    svg = charts.grouped_bars(label, names, [
        Series("p50", "chart-p50", [d.p50 for d in values]),
        Series("p95", "chart-p95", [d.p95 for d in values]),
    ], charts.seconds)
    return Chart(title, svg)


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
