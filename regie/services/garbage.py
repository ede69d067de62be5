"""Fewer garbage collections while a bulk job runs.

CPython collects its youngest generation once 700 more container objects are alive than at the
previous collection, and the older ones every ten collections of the one below; a full
collection walks every object of the process. An import of 100,000 bank entries keeps hundreds
of thousands of objects alive at a time (the records, decisions and rows of the chunks being
matched and written), none of them in reference cycles that need the collector: with the
default thresholds it spent about a tenth of its time collecting (15 full collections, 160
intermediate ones); with a threshold of 50,000 still 0.2 to 0.3 s (15 collections that walked
the chunks' live rows), while the interpreter lock it held was what the import waited for.
Reference counting still frees everything at once; only the rare cycles wait a little longer.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

BULK_THRESHOLD = 1_000_000
"""New container objects between two collections of the youngest generation during a bulk job:
more than an import keeps alive at once (measured: no collection during a 100,000-entry import
from 200,000 on), so that it collects only if something leaks cycles by the million."""

_saved: tuple[int, int, int] | None = None
_jobs = 0


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the youngest generation's threshold for the block's duration (process-wide: jobs
    running at once share it, and the first one's start and the last one's end decide)."""
    global _saved, _jobs
    if _jobs == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(max(BULK_THRESHOLD, _saved[0]), _saved[1], _saved[2])
    _jobs += 1
    try:
        yield
    finally:
        _jobs -= 1
        if _jobs == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None
