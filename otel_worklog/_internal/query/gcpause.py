"""Pausing the cyclic garbage collector while many acyclic objects are built at once."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["paused_gc"]


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a batch of reading or analysis.

    Span records and what analytics builds from them never form a cycle, and the collector's repeated
    passes over a few hundred thousand fresh objects would take much of the time; reference counting still
    frees everything. On resume, what is still alive moves to the oldest generation (see
    :func:`_promote_young`).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _promote_young()
            gc.enable()


def _promote_young() -> None:
    """Move every tracked object to the oldest generation, as if it had survived the young collections.

    Everything built during a pause is young, and the first collection after it would walk all of it at
    once to find nothing. A process that froze objects itself
    (``gc.freeze()`` before forking) keeps them frozen: nothing is moved then.
    """
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
