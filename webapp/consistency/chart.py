"""A horizontal bar chart as plain geometry, for a server-rendered SVG
(templates/consistency/_chart.html): no script, no inline style, colours from CSS classes.

Each row is the kind's name on a line of its own with its bar below, so long names fit a
phone's width; the viewBox is about a phone's width, and the SVG scales down from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

WIDTH = 300
ROW = 36  # a row's height: label line, then bar
BAR_HEIGHT = 12
VALUE_ROOM = 64  # right of the longest bar, for its number
MIN_BAR = 2  # a count of 1 among thousands still shows


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    label_y: int
    bar_y: int
    width: float
    value_x: float
    value_y: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_height: int
    bars: list[Bar]
    description: str  # the whole chart in words, for its aria-label


def bar_chart(counts: Mapping[str, int], what: str = "Repairs in the last 24 hours"
              ) -> Chart | None:
    """One bar per (kind, count), in the order given; None when there is nothing to draw."""
    items = [(label, count) for label, count in counts.items() if count > 0]
    if not items:
        return None
    top = max(count for _, count in items)
    room = WIDTH - VALUE_ROOM
    bars = []
    for index, (label, count) in enumerate(items):
        y = index * ROW
        width = max(room * count / top, MIN_BAR)
        bars.append(Bar(label, count, label_y=y + 13, bar_y=y + 18, width=round(width, 1),
                        value_x=round(width + 6, 1), value_y=y + 18 + BAR_HEIGHT - 1))
    words = ", ".join(f"{label} {count:,}" for label, count in items)
    return Chart(WIDTH, len(items) * ROW, BAR_HEIGHT, bars, f"{what} by kind: {words}.")
