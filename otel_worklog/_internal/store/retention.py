"""Retention: drop whole sessions (traces) that ended before a cut-off.

A session is removed with all its spans, events, links, search entries and the
resolutions recorded in it, in one transaction, so a reader never sees half a trace.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from otel_worklog._internal.store.schema import TABLE_RESOLUTIONS

__all__ = ["PruneResult", "prune"]

_DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class PruneResult:
    traces: int
    spans: int
    cutoff_ns: int


def cutoff_for(days: float, *, now_ns: int | None = None) -> int:
    now = time.time_ns() if now_ns is None else now_ns
    return now - int(days * _DAY_NS)


def prune(conn: sqlite3.Connection, *, older_than_ns: int, dry_run: bool = False) -> PruneResult:
    """Delete every session whose last span ended before ``older_than_ns``."""
    old = "SELECT trace_id FROM traces WHERE end_ns < ?"
    conn.execute("BEGIN IMMEDIATE")
    try:
        traces, spans = conn.execute(
            f"SELECT COUNT(*), COALESCE(SUM(span_count), 0) FROM traces WHERE trace_id IN ({old})", (older_than_ns,)
        ).fetchone()
        if not dry_run and traces:
            span_ids = f"SELECT id FROM spans WHERE trace_id IN ({old})"
            conn.execute(f"DELETE FROM events WHERE span_rowid IN ({span_ids})", (older_than_ns,))
            conn.execute(f"DELETE FROM links WHERE span_rowid IN ({span_ids})", (older_than_ns,))
            conn.execute(f"DELETE FROM spans WHERE trace_id IN ({old})", (older_than_ns,))
            conn.execute(f"DELETE FROM trace_bots WHERE trace_id IN ({old})", (older_than_ns,))
            conn.execute(f"DELETE FROM {TABLE_RESOLUTIONS} WHERE trace_id IN ({old})", (older_than_ns,))
            conn.execute("DELETE FROM traces WHERE end_ns < ?", (older_than_ns,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return PruneResult(int(traces), int(spans), older_than_ns)
