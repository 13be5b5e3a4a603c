"""Fewer garbage collections while a sweep runs.

A sweep's batches allocate hundreds of thousands of short-lived containers (rows,
decisions, bind parameters), nearly none of them in cycles. At the interpreter's
default threshold (a young collection every 700 allocations) one sweep over 10,000
due sessions ran about 700 collections, each older one walking the whole heap: some
15 % of the sweep's CPU (BENCHMARKS.md). While any sweep of this process runs, the
young threshold is raised; the interpreter's own thresholds come back when the last
one ends. Cycles are still collected, only less often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

SWEEP_THRESHOLDS = (10_000, 20, 20)

_running = 0  # sweeps of this process under way (one event loop: no lock needed)
_saved: tuple[int, int, int] = gc.get_threshold()


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds for the duration (nested or concurrent uses
    share one raise; the first in saves, the last out restores)."""
    global _running, _saved
    if _running == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(*SWEEP_THRESHOLDS)
    _running += 1
    try:
        yield
    finally:
        _running -= 1
        if _running == 0:
            gc.set_threshold(*_saved)
