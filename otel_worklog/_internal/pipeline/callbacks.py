"""One registry for the callbacks an app registers: ``on_alert`` and ``on_insight``.

A callback is a user's code: it runs outside every lock of ours, and one that raises is logged
while the others still run. Shutdown never waits for one past its deadline: a callback still
running then is left to finish on its own thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from otel_worklog._internal.forks import watch_forks

__all__ = ["CallbackRegistry"]

logger = logging.getLogger("otel_worklog")

T = TypeVar("T")


class CallbackRegistry(Generic[T]):
    """Callbacks grouped by key (``None`` for callbacks that get every value), each added once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._by_key: dict[Hashable, list[Callable[[T], Any]]] = {}
        self._lock = threading.Lock()
        watch_forks(self, CallbackRegistry._new_lock)

    def _new_lock(self) -> None:
        """In a forked child: the parent's lock may have been held by one of its other threads."""
        self._lock = threading.Lock()

    def add(self, callback: Callable[[T], Any], *, key: Hashable = None) -> None:
        with self._lock:
            registered = self._by_key.setdefault(key, [])
            if callback not in registered:
                registered.append(callback)

    def remove(self, callback: Callable[[T], Any], *, key: Hashable = None) -> None:
        """Stop calling ``callback``; an unknown callback is ignored."""
        with self._lock:
            registered = self._by_key.get(key, [])
            if callback in registered:
                registered.remove(callback)
            if not registered:
                self._by_key.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._by_key.clear()

    def keys_snapshot(self) -> list[Any]:
        """The keys that have callbacks now (a copy: callbacks may be added while it is used)."""
        with self._lock:
            return list(self._by_key)

    def has(self, key: Hashable = None) -> bool:
        with self._lock:
            return bool(self._by_key.get(key))

    def notify(self, value: T, *, key: Hashable = None) -> None:
        """Call every callback of ``key`` with ``value``; one that raises is logged and the rest still run."""
        with self._lock:
            callbacks = list(self._by_key.get(key, ()))
        for callback in callbacks:
            try:
                callback(value)
            except Exception:  # a user's callback must never break the app
                logger.warning("otel_worklog: %s callback %r raised; ignoring it", self.name, callback, exc_info=True)
