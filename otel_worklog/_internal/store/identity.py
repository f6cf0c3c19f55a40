"""Noticing that the store file a connection writes to was deleted or replaced under it.

A process that keeps a connection open writes into the file it opened, whatever the path names
later: a store deleted (``rm worklog.db``) or replaced (a backup restored over it) goes on taking
writes "successfully" into a file no reader will ever see. One ``stat()`` before a write tells. The
write-ahead log the old file leaves behind at ``worklog.db-wal`` must go too: SQLite matches a WAL
to its database by name only, and would replay the old store's pages into the new one.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["StoreIdentity"]

_WAL_SUFFIXES = ("-wal", "-shm")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


class StoreIdentity:
    """The device and inode of a store file as opened, and of its WAL files."""

    __slots__ = ("_files", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        names = [path, *(path.with_name(path.name + suffix) for suffix in _WAL_SUFFIXES)]
        self._files = [(name, _identity(name)) for name in names]

    def still_there(self) -> bool:
        """True while the path still names the file that was opened."""
        opened = self._files[0][1]
        return opened is not None and _identity(self.path) == opened

    def remove_stale_wal(self) -> None:
        """Delete the old file's ``-wal`` and ``-shm`` if they are still the ones it had (call once closed)."""
        for name, opened in self._files[1:]:
            if opened is not None and _identity(name) == opened:
                try:
                    name.unlink()
                except OSError:
                    pass
