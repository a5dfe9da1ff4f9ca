"""How much of the host's CPU the hypervisor took (steal time, /proc/stat): on a shared
virtual machine the same code measures slower while neighbours are busy, so every figure
of a run is printed beside the steal of its time."""

from __future__ import annotations

from pathlib import Path

STAT = Path("/proc/stat")


def cpu_ticks() -> tuple[int, int]:
    """(all ticks, steal ticks) of every core so far; (0, 0) where /proc/stat is missing."""
    try:
        fields = STAT.read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0, 0
    ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
    return sum(ticks), ticks[7] if len(ticks) > 7 else 0


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """The share (0-1) of the host's CPU time stolen between two cpu_ticks() readings."""
    total = after[0] - before[0]
    return (after[1] - before[1]) / total if total > 0 else 0.0
