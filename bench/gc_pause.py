"""Keep the load generator's own garbage collector out of the latencies it measures.

A full (generation 2) collection in a load generator that holds thousands of dashboards
and tens of thousands of latencies stops its event loop for ~100 ms (measured: 95 ms, once
per 20 s phase); every request due in that window then looks 100 ms slow, which is the
client's pause, not the server's. While a phase runs, everything alive before it is frozen
(never scanned again) and collection is off; reference counting still frees what it can.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_gc_pauses() -> Iterator[None]:
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
