"""Server-rendered SVG charts: no chart JavaScript, nothing inline that the CSP blocks.

Each chart is an <svg role="img"> with an aria-label that sums it up, a <title> on every
bar and point (the browser shows it on hover), text in currentColor and colours from CSS
classes (`chart-*` in static/app.css, light-dark() tokens, so dark mode reads). Sizes are
presentation attributes in the viewBox's units; the stylesheet makes the chart as wide as
its column. Every piece of text goes through markupsafe's escaping.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# About the size a chart is drawn at on a desktop, so its text stays legible on a phone too.
WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 8, 16, 28  # room for the axes' labels
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
ROW_H = 30  # one group of a horizontal bar chart
GROUP_LABEL = 18  # characters of a group's name shown beside its bars (its <title> has all)


@dataclass(frozen=True)
class Series:
    """One line or one stack of a chart: its name, CSS class and a value per bucket."""

    name: str
    css: str
    values: Sequence[float | None]


def seconds(value: float | None) -> str:
    """A duration for people: 850 ms, 4.2 s, 3.5 min, 2.0 h."""
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    if value < 7200:
        return f"{value / 60:.1f} min"
    return f"{value / 3600:.1f} h"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def nice_max(value: float) -> float:
    """A round axis maximum at or above `value` whose quarters (the grid lines) are round
    too: 1, 2, 4, 6 or 8 times a power of ten."""
    if value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    return next(step * scale for step in (1, 2, 4, 6, 8, 10) if step * scale >= value * 0.999999)


def _svg(label: str, body: list[str], height: int = HEIGHT) -> Markup:
    return Markup(f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
                  f'aria-label="{escape(label)}" font-size="12">{"".join(body)}</svg>')


def _y_axis(top: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for i in range(5):
        value = top * i / 4
        y = TOP + PLOT_H - PLOT_H * i / 4
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
                     f'y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'fill="currentColor">{escape(fmt(value))}</text>')
    return parts


def _x_labels(labels: Sequence[str], every: int) -> list[str]:
    step = PLOT_W / max(len(labels), 1)
    return [f'<text x="{LEFT + step * (i + 0.5):.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
            f'fill="currentColor">{escape(text)}</text>'
            for i, text in enumerate(labels) if i % every == 0]


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], LEFT
    for s in series:
        parts.append(f'<rect class="{s.css}" x="{x}" y="0" width="10" height="10"/>'
                     f'<text x="{x + 14}" y="9" fill="currentColor">{escape(s.name)}</text>')
        x += 24 + 7.5 * len(s.name)
    return parts


def stacked_bars(label: str, buckets: Sequence[str], stacks: Sequence[Series], every: int,
                 fmt: Callable[[float], str] = count, labels: Sequence[str] | None = None
                 ) -> Markup:
    """Columns per bucket, the series stacked bottom up; a <title> on each column. `buckets`
    name the buckets in titles, `labels` (every `every`-th one shown) on the x axis."""
    totals = [sum(s.values[i] or 0 for s in stacks) for i in range(len(buckets))]
    top = max(nice_max(max(totals, default=0)), 4)  # counts: whole numbers on the grid
    step = PLOT_W / max(len(buckets), 1)
    body = [*_y_axis(top, fmt), *_legend(stacks)]
    for i, bucket in enumerate(buckets):
        parts = ", ".join(f"{fmt(s.values[i] or 0)} {s.name}" for s in stacks)
        body.append(f"<g><title>{escape(bucket)}: {escape(parts)}</title>")
        base = TOP + PLOT_H
        for s in stacks:
            h = PLOT_H * (s.values[i] or 0) / top
            base -= h
            body.append(f'<rect class="{s.css}" x="{LEFT + step * i + step * 0.1:.1f}" '
                        f'y="{base:.1f}" width="{step * 0.8:.1f}" height="{h:.1f}"/>')
        body.append("</g>")
    body += _x_labels(labels or buckets, every)
    return _svg(label, body)


def lines(label: str, buckets: Sequence[str], series: Sequence[Series], every: int,
          fmt: Callable[[float], str], labels: Sequence[str] | None = None) -> Markup:
    """A line per series over the buckets (gaps where a bucket has no value), with a dot
    and a <title> on each point."""
    values = [v for s in series for v in s.values if v is not None]
    top = nice_max(max(values, default=0))
    step = PLOT_W / max(len(buckets), 1)
    body = [*_y_axis(top, fmt), *_legend(series)]
    for s in series:
        points = [(LEFT + step * (i + 0.5), TOP + PLOT_H - PLOT_H * v / top, i, v)
                  for i, v in enumerate(s.values) if v is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            body.append(f'<polyline class="{s.css} chart-line" fill="none" points="{path}"/>')
        for x, y, i, v in points:
            body.append(f'<circle class="{s.css}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                        f"<title>{escape(buckets[i])}: {escape(s.name)} "
                        f"{escape(fmt(v))}</title></circle>")
    body += _x_labels(labels or buckets, every)
    return _svg(label, body)


def grouped_bars(label: str, groups: Sequence[str], series: Sequence[Series],
                 fmt: Callable[[float], str]) -> Markup:
    """Horizontal bars: a row per group, a bar per series in it, the value at its end."""
    values = [v for s in series for v in s.values if v is not None]
    top = nice_max(max(values, default=0))
    height = TOP + 16 + ROW_H * max(len(groups), 1)
    left, width = 130, WIDTH - 130 - 60
    body = _legend(series)
    bar_h = (ROW_H - 8) / max(len(series), 1)
    for g, group in enumerate(groups):
        y0 = TOP + 16 + ROW_H * g
        shown = group if len(group) <= GROUP_LABEL else group[:GROUP_LABEL - 1] + "…"
        body.append(f'<text x="{left - 6}" y="{y0 + ROW_H / 2 + 4:.1f}" text-anchor="end" '
                    f'fill="currentColor">{escape(shown)}</text>')
        for k, s in enumerate(series):
            v = s.values[g]
            w = width * (v or 0) / top
            y = y0 + 2 + bar_h * k
            body.append(f"<g><title>{escape(group)}: {escape(s.name)} {escape(fmt(v))}</title>"
                        f'<rect class="{s.css}" x="{left}" y="{y:.1f}" width="{w:.1f}" '
                        f'height="{bar_h - 1:.1f}"/><text x="{left + w + 4:.1f}" '
                        f'y="{y + bar_h - 3:.1f}" fill="currentColor">{escape(fmt(v))}</text>'
                        "</g>")
    return _svg(label, body, height)
