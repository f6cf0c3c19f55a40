"""SQLite connections across ``fork()``: what a child that inherited one open must do.

SQLite keeps its locking state per file per process, in memory: a forked child inherits the parent's
view of it. The owners of connections close them before a fork (``_internal.forks.watch_forks`` calls them around it).
"""

from __future__ import annotations

import sqlite3
from typing import Final

__all__ = ["FORK_WAIT_S", "UNSAFE_AFTER_FORK", "keep_inherited"]

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
