"""Running the service's coroutines: uvloop when it is installed (it is, on Linux)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on uvloop's event loop where available."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


#: Allocations between young-generation collections (CPython's default is 700).
GC_YOUNG_THRESHOLD = 50_000


def settle_heap() -> None:
    """After start-up, for a long-running service: fewer, cheaper garbage collections.

    The MT path allocates a few dozen objects a message and keeps caches of some hundred
    thousand entries (numbers, tokens, id maps). With CPython's default thresholds the
    collector ran every few messages and rescanned those caches often: ~20 % of the
    proxy's CPU in the bench. Start-up objects (phonenumbers' metadata, the config) are
    moved out of the collector's sight (gc.freeze) and collections come 70x less often.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)
