"""Process hygiene for work-horses and the programs they start (no Flask, no database)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import signal
import sys

_PR_SET_PDEATHSIG = 1


@functools.cache
def libc() -> ctypes.CDLL:
    """libc, found once per process (find_library runs ldconfig: milliseconds a call), and
    inherited by forked work-horses."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to kill this process when its parent dies; False where unsupported.

    A work-horse runs in its own process group, so a worker killed with SIGKILL would
    otherwise leave it running, unseen: the reconciler would then run the job again while
    the orphan finishes it too. With this, a vanished worker means a stopped job.
    """
    if not sys.platform.startswith("linux"):
        return False
    return libc().prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
