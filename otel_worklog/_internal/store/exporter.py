"""The span exporter that writes finished spans into the embedded SQLite store.

Each ``export()`` call (one batch from the batch processor) is written in one
``BEGIN IMMEDIATE`` transaction: either the whole batch is in the store or none
of it is, so a process killed mid-write leaves a readable store. Several
processes may export at once: SQLite serialises the writers, ``busy_timeout``
makes each wait its turn, and a batch that still meets a lock is retried, so no
span is lost.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.model import ReaderError
from otel_worklog._internal.store.retention import cutoff_for, prune
from otel_worklog._internal.store.schema import connect
from otel_worklog._internal.store.settings import resolve_retention_days

__all__ = ["StoreSpanExporter"]

logger = logging.getLogger("otel_worklog")

_PRUNE_EVERY_S = 3600.0
_RETRY_FOR_S = 60.0

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode

_INSERT_SPAN = (
    "INSERT INTO spans (id, trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code,"
    " status_message, workspace_id, bot_name, escalation, error, attributes, scope, resource_id)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_EVENT = (
    "INSERT INTO events (span_rowid, name, time_ns, level, step, message, attributes) VALUES (?,?,?,?,?,?,?)"
)
_INSERT_LINK = "INSERT INTO links (span_rowid, trace_id, span_id, attributes) VALUES (?,?,?,?)"
_UPSERT_TRACE = """
INSERT INTO traces (trace_id, workspace_id, workspace_type, query, root_name, start_ns, end_ns,
                    span_count, escalations, errors)
VALUES (?,?,?,?,?,?,?,?,?,?)
ON CONFLICT (trace_id) DO UPDATE SET
  workspace_id = CASE WHEN excluded.root_name IS NOT NULL
                      THEN COALESCE(excluded.workspace_id, traces.workspace_id)
                      ELSE COALESCE(traces.workspace_id, excluded.workspace_id) END,
  workspace_type = COALESCE(excluded.workspace_type, traces.workspace_type),
  query = COALESCE(excluded.query, traces.query),
  root_name = COALESCE(traces.root_name, excluded.root_name),
  start_ns = MIN(traces.start_ns, excluded.start_ns),
  end_ns = MAX(traces.end_ns, excluded.end_ns),
  span_count = traces.span_count + excluded.span_count,
  escalations = traces.escalations + excluded.escalations,
  errors = traces.errors + excluded.errors
"""
_INSERT_BOT = "INSERT OR IGNORE INTO trace_bots (trace_id, bot_name) VALUES (?,?)"


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _Batch:
    """One export batch as rows, built before the write lock is taken."""

    __slots__ = ("bots", "events", "links", "resources", "spans", "traces")

    def __init__(self, spans: Sequence[ReadableSpan]) -> None:
        self.spans: list[list[Any]] = []
        self.events: list[list[tuple[Any, ...]]] = []
        self.links: list[list[tuple[Any, ...]]] = []
        self.resources: list[str] = []
        self.traces: dict[str, list[Any]] = {}
        self.bots: set[tuple[str, str]] = set()
        resource_json: dict[int, str] = {}
        for span in spans:
            ctx = span.context
            if ctx is None:
                continue
            trace_id = format(ctx.trace_id, "032x")
            parent = span.parent
            attrs = dict(span.attributes or {})
            workspace = _str_or_none(attrs.get(sc.WORKSPACE_ID))
            bot = _str_or_none(attrs.get(sc.BOT_NAME))
            escalation = 1 if attrs.get(sc.WORKLOG_ESCALATION) is True else 0
            status = span.status.status_code.name
            error = 1 if status == "ERROR" else 0
            start = span.start_time or 0
            end = span.end_time or start
            resource = span.resource
            key = id(resource)
            text = resource_json.get(key)
            if text is None:
                text = _dumps(dict(resource.attributes)) if resource is not None else "{}"
                resource_json[key] = text
            scope = span.instrumentation_scope
            self.spans.append(
                [
                    0,  # the row id, assigned under the write lock
                    trace_id,
                    format(ctx.span_id, "016x"),
                    format(parent.span_id, "016x") if parent is not None else None,
                    span.name,
                    span.kind.name,
                    start,
                    end,
                    status,
                    span.status.description or "",
                    workspace,
                    bot,
                    escalation,
                    error,
                    _dumps(attrs),
                    scope.name if scope is not None else "",
                    text,  # replaced by the resource row id under the lock
                ]
            )
            self.resources.append(text)
            events = []
            for event in span.events:
                eattrs = dict(event.attributes or {})
                step = eattrs.get(sc.WORKLOG_STEP)
                events.append(
                    (
                        event.name,
                        event.timestamp,
                        _str_or_none(eattrs.get(sc.WORKLOG_LEVEL)),
                        step if isinstance(step, int) and not isinstance(step, bool) else None,
                        _str_or_none(eattrs.get(sc.WORKLOG_MESSAGE)),
                        _dumps(eattrs),
                    )
                )
            self.events.append(events)
            self.links.append(
                [
                    (format(link.context.trace_id, "032x"), format(link.context.span_id, "016x"),
                     _dumps(dict(link.attributes or {})))
                    for link in span.links
                ]
            )
            if bot is not None:
                self.bots.add((trace_id, bot))
            summary = self.traces.get(trace_id)
            if summary is None:
                summary = [trace_id, None, None, None, None, start, end, 0, 0, 0]
                self.traces[trace_id] = summary
            if parent is None:
                summary[1] = workspace
                summary[2] = _str_or_none(attrs.get(sc.WORKSPACE_TYPE))
                summary[3] = _str_or_none(attrs.get(sc.WORKLOG_QUERY))
                summary[4] = span.name
            elif summary[1] is None:
                summary[1] = workspace
            summary[5] = min(summary[5], start)
            summary[6] = max(summary[6], end)
            summary[7] += 1
            summary[8] += escalation
            summary[9] += error


class StoreSpanExporter(SpanExporter):
    """Writes span batches into the SQLite store at ``path`` (created on first export)."""

    def __init__(self, path: Path, *, retention_days: int | None = None) -> None:
        self.path = Path(path)
        self._retention_days = resolve_retention_days(retention_days)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._resource_ids: dict[str, int] = {}
        self._next_prune = 0.0
        self._closed = False

    # -- SpanExporter -----------------------------------------------------------
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._closed:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            batch = _Batch(spans)
        except Exception:
            logger.warning("otel_worklog: could not convert %d spans for the store", len(spans), exc_info=True)
            return SpanExportResult.FAILURE
        deadline = time.monotonic() + _RETRY_FOR_S
        delay = 0.01
        with self._lock:
            while True:
                try:
                    conn = self._connection()
                    self._write(conn, batch)
                    break
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or time.monotonic() > deadline:
                        logger.warning("otel_worklog: could not write %d spans to %s: %s", len(spans), self.path, exc)
                        return SpanExportResult.FAILURE
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.5)
                except (sqlite3.Error, ReaderError) as exc:
                    logger.warning("otel_worklog: could not write %d spans to %s: %s", len(spans), self.path, exc)
                    return SpanExportResult.FAILURE
            self._maybe_prune()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                try:
                    self._conn.close()
                finally:
                    self._conn = None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True  # every export() is committed before it returns

    # -- internals --------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path, create=True)
        return self._conn

    def _resource_id(self, conn: sqlite3.Connection, text: str) -> int:
        rid = self._resource_ids.get(text)
        if rid is None:
            conn.execute("INSERT OR IGNORE INTO resources (attributes) VALUES (?)", (text,))
            rid = int(conn.execute("SELECT id FROM resources WHERE attributes = ?", (text,)).fetchone()[0])
            self._resource_ids[text] = rid
        return rid

    def _write(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # We hold the write lock, so row ids can be handed out here and events point at them directly.
            next_id = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM spans").fetchone()[0]) + 1
            events: list[tuple[Any, ...]] = []
            links: list[tuple[Any, ...]] = []
            for offset, row in enumerate(batch.spans):
                rowid = next_id + offset
                row[0] = rowid
                row[16] = self._resource_id(conn, row[16]) if isinstance(row[16], str) else row[16]
                events.extend((rowid, *event) for event in batch.events[offset])
                links.extend((rowid, *link) for link in batch.links[offset])
            try:
                conn.executemany(_INSERT_SPAN, batch.spans)
            except sqlite3.IntegrityError:
                # A span exported twice (a retried batch): fall back to the row-by-row path.
                self._write_deduplicated(conn, batch)
            else:
                conn.executemany(_INSERT_EVENT, events)
                conn.executemany(_INSERT_LINK, links)
                conn.executemany(_UPSERT_TRACE, batch.traces.values())
                conn.executemany(_INSERT_BOT, batch.bots)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _write_deduplicated(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        kept: dict[str, list[Any]] = {}
        for offset, row in enumerate(batch.spans):
            cursor = conn.execute(_INSERT_SPAN.replace("INSERT", "INSERT OR IGNORE", 1), row)
            if cursor.rowcount != 1:
                continue
            rowid = row[0]
            conn.executemany(_INSERT_EVENT, [(rowid, *event) for event in batch.events[offset]])
            conn.executemany(_INSERT_LINK, [(rowid, *link) for link in batch.links[offset]])
            summary = kept.setdefault(row[1], [row[1], None, None, None, None, row[6], row[7], 0, 0, 0])
            full = batch.traces[row[1]]
            if row[3] is None:
                summary[1:5] = full[1:5]
            elif summary[1] is None:
                summary[1] = row[10]
            summary[5] = min(summary[5], row[6])
            summary[6] = max(summary[6], row[7])
            summary[7] += 1
            summary[8] += row[12]
            summary[9] += row[13]
            if row[11] is not None:
                conn.execute(_INSERT_BOT, (row[1], row[11]))
        conn.executemany(_UPSERT_TRACE, kept.values())

    def _maybe_prune(self) -> None:
        if not self._retention_days or time.monotonic() < self._next_prune or self._conn is None:
            return
        self._next_prune = time.monotonic() + _PRUNE_EVERY_S
        try:
            result = prune(self._conn, older_than_ns=cutoff_for(self._retention_days))
            if result.traces:
                logger.info("otel_worklog: pruned %d sessions older than %d days", result.traces, self._retention_days)
        except sqlite3.Error as exc:
            logger.info("otel_worklog: retention pass skipped: %s", exc)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
