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
import weakref
from collections.abc import Callable
from typing import Final, TypeVar

__all__ = ["FORK_WAIT_S", "UNSAFE_AFTER_FORK", "keep_inherited", "watch_forks"]

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


#: How long fork() waits for our thread to finish the SQLite work under way (one bounded transaction).
FORK_WAIT_S: Final = 5.0
#: Connections a child inherited open: SQLite cannot be used in such a child, so they are kept, never used.
_KEPT: list[sqlite3.Connection] = []

#: Why a child that inherited an open connection does not write to the store.
UNSAFE_AFTER_FORK: Final = (
    "this process was forked during a store write that outlasted fork()'s wait, and SQLite cannot be used"
    " safely in it (the locks it would see are the parent's)"
)


def keep_inherited(conn: sqlite3.Connection) -> None:
    """Keep, unused and unclosed, a connection a child inherited open (see :data:`UNSAFE_AFTER_FORK`).

    SQLite keeps its locks per file per process, in memory: a child that inherited a connection in the
    middle of a write believes it holds the parent's locks, and a new connection there sees a store
    that looks locked forever or malformed. Closing the inherited one does not repair that, and may
    never return (the fork may have caught the parent's thread inside SQLite, holding the connection's
    mutex). Freed by the garbage collector, it would be closed all the same: it is kept.
    """
    _KEPT.append(conn)
