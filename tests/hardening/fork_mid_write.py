"""A fork that catches a store write longer than fork() waits: ``python -m tests.hardening.fork_mid_write STORE``.

A write that holds the store for 8 s is faked (a pause inside the transaction, in the parent only: a
disk that stalls cannot be made on demand). fork() waits 5 s for it, then the child starts with the
parent's connection open. Such a child must neither hang nor touch the store: its spans are counted
as failed with the reason. It prints one JSON line with the child's shutdown time, its counts and
its warnings; the parent then checks the store's integrity.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import threading
import time
from typing import Any

import otel_worklog as wl
from otel_worklog._internal.store.exporter import StoreSpanExporter

PAUSE_S = 8.0


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def main() -> None:
    store = sys.argv[1]
    wl.configure(store=store)
    with wl.workspace("#before"):
        pass
    assert wl.force_flush(30)
    parent = os.getpid()
    inside = threading.Event()
    original = StoreSpanExporter._count_resolutions

    def stalled(conn: sqlite3.Connection, batch: Any, kept: Any) -> None:
        if os.getpid() == parent:
            inside.set()
            time.sleep(PAUSE_S)
        original(conn, batch, kept)

    StoreSpanExporter._count_resolutions = staticmethod(stalled)  # type: ignore[method-assign]
    with wl.workspace("#parent"):
        pass
    threading.Thread(target=wl.force_flush, args=(60,), daemon=True).start()
    assert inside.wait(30)
    collect = Collect()
    logging.getLogger("otel_worklog").addHandler(collect)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        with wl.workspace("#child"):
            pass
        start = time.monotonic()
        wl.shutdown(timeout_s=5)
        (stats,) = wl.export_stats()
        seen = {"shutdown_s": time.monotonic() - start, "stats": stats.__repr__(), "failed": stats.failed}
        seen["warnings"] = collect.lines
        os.write(write_end, json.dumps(seen).encode())
        os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    with os.fdopen(read_end) as report:
        seen = json.loads(report.read())
    wl.shutdown(timeout_s=30)
    with sqlite3.connect(store) as conn:
        seen["integrity"] = conn.execute("PRAGMA integrity_check").fetchone()[0]
        seen["workspaces"] = sorted(row[0] for row in conn.execute("SELECT workspace_id FROM traces"))
    print(json.dumps(seen), flush=True)


if __name__ == "__main__":
    main()
