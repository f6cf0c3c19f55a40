"""Our locks, threads and connections, made afresh in a process forked from one that used them.

``fork()`` copies memory, not threads: a child inherits every lock in the state the parent's other
threads held it (held forever, since those threads do not exist in the child), no worker thread,
and open SQLite connections whose locking state lives in the parent's memory. Celery and gunicorn
prefork workers and ``multiprocessing``'s fork start method all do this. Each object that owns such
things registers here; the hooks hold only a weak reference, so registering never keeps one alive.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Callable
from typing import Final, TypeVar

__all__ = ["close_inherited", "watch_forks"]

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


#: Connections inherited through fork() that could not be closed in the child (kept, never used again).
_KEPT: list[sqlite3.Connection] = []
#: Longest a child waits for an inherited connection to close.
_CLOSE_WAIT_S: Final = 1.0


def close_inherited(conn: sqlite3.Connection) -> None:
    """Close, in a forked child, a connection the parent had open (mid-write, if it could not be closed first).

    SQLite keeps one record of the locks per file per process: until the inherited connection is closed,
    a new connection in the child sees the parent's write lock as held by its own process and waits
    forever. Closing rolls back in the child's memory only (the parent's locks are its own, and a child
    cannot take the lock a checkpoint would need while the parent holds the store open). It runs on a
    thread of its own with a bound: were the fork to catch the parent's thread inside SQLite, holding the
    connection's mutex, closing would never return; the connection is then kept, unused.
    """

    def close() -> None:
        try:
            conn.close()
        except sqlite3.Error:
            pass

    closer = threading.Thread(target=close, name="otel-worklog-close-inherited", daemon=True)
    closer.start()
    closer.join(_CLOSE_WAIT_S)
    if closer.is_alive():
        _KEPT.append(conn)
