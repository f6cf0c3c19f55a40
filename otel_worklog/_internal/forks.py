"""Our locks, threads and connections, made afresh in a process forked from one that used them.

``fork()`` copies memory, not threads: a child inherits every lock in the state the parent's other
threads held it (held forever, since those threads do not exist in the child), no worker thread,
and open SQLite connections whose locking state lives in the parent's memory. Celery and gunicorn
prefork workers and ``multiprocessing``'s fork start method all do this. Each object that owns such
things registers here; the hooks hold only a weak reference, so registering never keeps one alive.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import TypeVar

__all__ = ["watch_forks"]

T = TypeVar("T")


def watch_forks(
    owner: T,
    in_child: Callable[[T], None],
    *,
    prepare: Callable[[T], bool] | None = None,
    resume: Callable[[T], None] | None = None,
) -> None:
    """Call ``in_child(owner)`` in every forked child.

    ``prepare(owner)`` runs in the forking thread just before the fork (to close a connection no
    thread is using, say); when it returns True, ``resume(owner)`` runs in the parent after the fork.
    """
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(owner)
    prepared: list[T] = []

    def before() -> None:
        found = ref()
        if found is not None and prepare is not None and prepare(found):
            prepared.append(found)

    def after_in_parent() -> None:
        while prepared:
            found = prepared.pop()
            if resume is not None:
                resume(found)

    def after_in_child() -> None:
        prepared.clear()
        found = ref()
        if found is not None:
            in_child(found)

    os.register_at_fork(before=before, after_in_parent=after_in_parent, after_in_child=after_in_child)
