"""Fixed-bin histograms of durations, from which percentiles are estimated.

The bins are the same everywhere (the SQL that counts jobs into them, the hourly rollup the
reconciler keeps, the charts and the API), so histograms of any rows add up bin by bin.
Bin 0 holds durations under 10 ms; bin i (1 <= i < len(BOUNDS)) holds [BOUNDS[i-1],
BOUNDS[i]); the last bin holds everything from BOUNDS[-1] (about 27 hours) up. Each bound
is 2^(1/4) times the one before, so an estimate inside a bin is within 19% of the true
value (within 10 ms below 10 ms): the documented estimation error.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence

FIRST_BOUND = 0.01
STEPS_PER_DOUBLING = 4
RATIO = 2 ** (1 / STEPS_PER_DOUBLING)
# 0.01 s ... 0.01 * 2^(94/4) s, about 27.1 hours.
BOUNDS: tuple[float, ...] = tuple(FIRST_BOUND * 2 ** (i / STEPS_PER_DOUBLING)
                                  for i in range(95))
SIZE = len(BOUNDS) + 1  # bin 0, one per gap between bounds, and the overflow bin


def bin_of(seconds: float) -> int:
    """The bin a duration falls in: what PostgreSQL's width_bucket(seconds, BOUNDS) says."""
    if seconds < FIRST_BOUND:
        return 0
    index = int(math.floor(math.log2(seconds / FIRST_BOUND) * STEPS_PER_DOUBLING)) + 1
    index = max(1, min(index, SIZE - 1))
    # log2 may land a hair off at an exact bound: settle it against the bounds themselves.
    while index > 1 and seconds < BOUNDS[index - 1]:
        index -= 1
    while index < SIZE - 1 and seconds >= BOUNDS[index]:
        index += 1
    return index


def empty() -> list[int]:
    return [0] * SIZE


def add_into(total: list[int], counts: Sequence[int]) -> None:
    """Add one histogram's counts into another, bin by bin (in place)."""
    total[:] = map(operator.add, total, counts)


def merged(histograms: Iterable[Sequence[int]]) -> list[int]:
    total = empty()
    for counts in histograms:
        add_into(total, counts)
    return total


def quantile(counts: Sequence[int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) estimated from bin counts; None when there are none.

    The rank is q * n (continuous, as percentile_cont), found in its bin, and placed inside
    the bin geometrically (linearly in the first bin, which starts at 0)."""
    n = sum(counts)
    if n == 0:
        return None
    rank = q * n
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            return _inside(index, (rank - seen) / count)
        seen += count
    return BOUNDS[-1]


def _inside(index: int, fraction: float) -> float:
    fraction = min(max(fraction, 0.0), 1.0)
    if index == 0:
        return FIRST_BOUND * fraction
    if index >= SIZE - 1:
        return BOUNDS[-1]
    low = BOUNDS[index - 1]
    return low * RATIO ** fraction
