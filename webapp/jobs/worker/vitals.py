"""What a worker adds to its RQ worker hash at each heartbeat, for the workers page: its
resident memory, its work-horse's, and its heartbeat interval (to judge a stale heartbeat).
"""

from __future__ import annotations

import os

RSS = "cutroom_rss"
HORSE_RSS = "cutroom_horse_rss"
INTERVAL = "cutroom_heartbeat_interval"
FIELDS = (RSS, HORSE_RSS, INTERVAL)

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss_bytes(pid: int | str = "self") -> int:
    """A process's resident set size in bytes, from Linux's /proc (0 where there is none,
    or the process is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def vitals(horse_pid: int, heartbeat_interval: int) -> dict[str, int]:
    """The fields for the worker hash (no horse: 0)."""
    return {RSS: rss_bytes(), HORSE_RSS: rss_bytes(horse_pid) if horse_pid > 0 else 0,
            INTERVAL: int(heartbeat_interval)}
