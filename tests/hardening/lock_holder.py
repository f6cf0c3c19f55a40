"""Another process holding a store's write lock: ``python -m tests.hardening.lock_holder STORE SECONDS``.

It takes the lock as any SQLite writer would (``BEGIN IMMEDIATE``), says ``locked`` on stdout, and
keeps it for SECONDS or until its stdin closes, whichever comes first. A file that does not exist
yet is created by SQLite, empty, as a fresh store would be met.
"""

from __future__ import annotations

import select
import sqlite3
import sys


def main() -> None:
    path, seconds = sys.argv[1], float(sys.argv[2])
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    select.select([sys.stdin], [], [], seconds)  # stdin readable: closed by the test, or the time is up
    conn.execute("COMMIT")
    conn.close()


if __name__ == "__main__":
    main()
