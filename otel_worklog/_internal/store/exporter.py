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
import json.encoder
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Final

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.semconv.attributes.exception_attributes import EXCEPTION_TYPE
from opentelemetry.trace import SpanKind, StatusCode

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.forks import watch_forks
from otel_worklog._internal.sdk_compat import attributes_of, ended_span, event_parts, name_of, span_links
from otel_worklog._internal.span_kinds import ESCALATION, classify, is_failure
from otel_worklog._internal.status import ERROR_ENTRY_EVENT, FAILING_KINDS
from otel_worklog._internal.store.forks import FORK_WAIT_S, UNSAFE_AFTER_FORK, keep_inherited
from otel_worklog._internal.store.identity import StoreIdentity
from otel_worklog._internal.store.paths import resolve_retention_days
from otel_worklog._internal.store.retention import cutoff_for, prune
from otel_worklog._internal.store.schema import PART_CODES, TABLE_RESOLUTIONS, StoreLocked, connect, is_busy

__all__ = ["StoreSpanExporter"]

logger = logging.getLogger("otel_worklog")

_PRUNE_EVERY_S = 3600.0
#: How long one write attempt waits for another process's lock before the exporter retries.
_BUSY_WAIT_MS: Final = 250
#: The pause between two attempts: SQLite's busy wait is the real wait; this only lets fork() and
#: shutdown() take our lock, and keeps the attempts of several processes apart.
_BETWEEN_ATTEMPTS_S: Final = 0.005
#: A batch waiting this long for another process's lock is warned about (once).
_LOCKED_WARNING_S: Final = 10.0


def _make_dumps() -> Callable[[Any], str]:
    """Compact JSON; the C encoder is built once instead of on every call."""
    fallback = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # not CPython
        return fallback
    # markers=None skips the cycle check: span attribute values are flat primitives and sequences of them.
    encode = make(None, str, json.encoder.encode_basestring, None, ":", ",", False, False, True)

    def dumps(value: Any) -> str:
        return "".join(encode(value, 0))

    return dumps


_dumps = _make_dumps()

_INSERT_SPAN = (
    "INSERT INTO spans (id, trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code,"
    " status_message, workspace_id, bot_name, escalation, error, attributes, scope, resource_id, part)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_EVENT = (
    "INSERT INTO events (span_rowid, name, time_ns, level, step, message, attributes) VALUES (?,?,?,?,?,?,?)"
)
_INDEX_MESSAGES = (
    "INSERT INTO events_fts (rowid, message) SELECT id, message FROM events WHERE id > ? AND message IS NOT NULL"
)
_INSERT_LINK = "INSERT INTO links (span_rowid, trace_id, span_id, attributes) VALUES (?,?,?,?)"
_UPSERT_TRACE = """
INSERT INTO traces (trace_id, workspace_id, workspace_type, query, root_name, start_ns, end_ns,
                    span_count, escalations, errors, failed_bots, error_entries)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
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
  errors = traces.errors + excluded.errors,
  failed_bots = traces.failed_bots + excluded.failed_bots,
  error_entries = traces.error_entries + excluded.error_entries
"""
_INSERT_BOT = "INSERT OR IGNORE INTO trace_bots (trace_id, bot_name) VALUES (?,?)"
_RESOLVED_BEFORE = f"SELECT 1 FROM {TABLE_RESOLUTIONS} WHERE trace_id = ? AND span_id = ?"
_INSERT_RESOLUTION = f"INSERT OR IGNORE INTO {TABLE_RESOLUTIONS} (trace_id, span_id) VALUES (?,?)"
_IS_ESCALATION = "SELECT 1 FROM spans WHERE trace_id = ? AND span_id = ? AND escalation = 1"
_ADD_RESOLVED = "UPDATE traces SET resolved_escalations = resolved_escalations + ? WHERE trace_id = ?"

# Positions in a span row (the columns of _INSERT_SPAN).
_ROW_TRACE, _ROW_SPAN, _ROW_START, _ROW_END, _ROW_WORKSPACE, _ROW_BOT, _ROW_RESOURCE = 1, 2, 6, 7, 10, 11, 16


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


_KIND_NAMES = {kind: kind.name for kind in SpanKind}
_STATUS_NAMES = {code: code.name for code in StatusCode}
_LEVEL, _STEP, _MESSAGE = sc.WORKLOG_LEVEL, sc.WORKLOG_STEP, sc.WORKLOG_MESSAGE


def _new_summary(trace_id: str, start: int, end: int) -> list[Any]:
    """A session summary row: trace, workspace, type, query, root name, start, end, then the counts."""
    return [trace_id, None, None, None, None, start, end, 0, 0, 0, 0, 0]


def _add_to_summary(summary: list[Any], row: list[Any], root: tuple[Any, ...] | None, counts: tuple[int, ...]) -> None:
    """Fold one span (its row, its root fields if it is the root, its counts) into its session's summary."""
    if root is not None:
        summary[1:5] = root
    elif summary[1] is None:
        summary[1] = row[_ROW_WORKSPACE]
    if row[_ROW_START] < summary[5]:
        summary[5] = row[_ROW_START]
    if row[_ROW_END] > summary[6]:
        summary[6] = row[_ROW_END]
    escalation, failed, failed_bot, error_entries = counts
    summary[7] += 1
    summary[8] += escalation
    summary[9] += failed
    summary[10] += failed_bot
    summary[11] += error_entries


class _Batch:
    """One export batch as rows, built before the write lock is taken (the hot loop: keep it lean)."""

    __slots__ = ("counts", "escalations", "events", "links", "resolutions", "roots", "sanitized", "spans")

    def __init__(self, spans: Sequence[ReadableSpan]) -> None:
        self.sanitized = False
        self.spans: list[list[Any]] = []
        self.events: list[list[tuple[Any, ...]]] = []
        self.links: list[list[tuple[Any, ...]]] = []
        #: Per span row: what it adds to its session's counts, and the root fields of a root span.
        self.counts: list[tuple[int, ...]] = []
        self.roots: list[tuple[Any, ...] | None] = []
        #: (trace id, span id) of the escalation spans, and of the escalations resolved, in this batch.
        self.escalations: list[tuple[str, str]] = []
        self.resolutions: set[tuple[str, str]] = set()
        resources: dict[int, str] = {}
        for span in spans:
            if span.context is not None:
                self._add(span, resources)

    def bots(self, kept: Iterable[int] | None = None) -> set[tuple[str, str]]:
        """(trace id, bot) of the span rows at offsets ``kept`` (every row when None)."""
        rows = self.spans if kept is None else [self.spans[offset] for offset in kept]
        return {(row[_ROW_TRACE], row[_ROW_BOT]) for row in rows if row[_ROW_BOT] is not None}

    def _add(self, span: ReadableSpan, resources: dict[int, str]) -> None:
        name, attrs, context, parent, events = ended_span(span)
        trace_id = format(context.trace_id, "032x")
        span_id = format(context.span_id, "016x")
        kind = classify(name, attrs)
        status = span.status
        status_name = _STATUS_NAMES.get(status.status_code, "UNSET")
        escalation = 1 if kind is ESCALATION else 0
        if escalation:
            self.escalations.append((trace_id, span_id))
        start = span.start_time or 0
        resource = span.resource
        text = resources.get(id(resource))
        if text is None:
            text = resources[id(resource)] = _dumps(dict(resource.attributes)) if resource is not None else "{}"
        scope = span.instrumentation_scope
        self.spans.append(
            [
                0,  # the row id, assigned under the write lock
                trace_id,
                span_id,
                format(parent.span_id, "016x") if parent is not None else None,
                name,
                _KIND_NAMES.get(span.kind, "INTERNAL"),
                start,
                span.end_time or start,
                status_name,
                status.description or "",
                _str_or_none(attrs.get(sc.WORKSPACE_ID)),
                _str_or_none(attrs.get(sc.BOT_NAME)),
                escalation,
                1 if status_name == "ERROR" else 0,
                _dumps(attrs),
                scope.name if scope is not None else "",
                text,  # replaced by the resource row id under the lock
                PART_CODES[kind],
            ]
        )
        error_entries = self._add_events(events, trace_id)
        # A session counts a failure once, and never one by framework control flow (see span_kinds.is_failure).
        failed = 1 if status_name == "ERROR" and is_failure(True, attrs, _exception_type(events)) else 0
        self.links.append(
            [
                (
                    format(link.context.trace_id, "032x"),
                    format(link.context.span_id, "016x"),
                    _dumps(attributes_of(link)),
                )
                for link in span_links(span)
            ]
        )
        self.counts.append((escalation, failed, failed if kind in FAILING_KINDS else 0, error_entries))
        self.roots.append(
            None
            if parent is not None
            else (
                self.spans[-1][_ROW_WORKSPACE],
                _str_or_none(attrs.get(sc.WORKSPACE_TYPE)),
                _str_or_none(attrs.get(sc.WORKLOG_QUERY)),
                name,
            )
        )

    def _add_events(self, events: Sequence[Any], trace_id: str) -> int:
        """A span's events as rows; returns how many are error entries, and notes escalations resolved."""
        rows = []
        error_entries = 0
        for event in events:
            name, attrs = event_parts(event)
            if name == ERROR_ENTRY_EVENT:
                error_entries += 1
            elif name == _RESOLVED_EVENT:
                target = attrs.get(sc.WORKLOG_ESCALATION_SPAN_ID)
                if isinstance(target, str):
                    self.resolutions.add((trace_id, target.lower()))
            step = attrs.get(_STEP)
            rows.append(
                (
                    name,
                    event.timestamp,
                    _str_or_none(attrs.get(_LEVEL)),
                    step if type(step) is int else None,
                    _str_or_none(attrs.get(_MESSAGE)),
                    _dumps(attrs),
                )
            )
        self.events.append(rows)
        return error_entries

    def summaries(self, kept: Iterable[int] | None = None) -> list[list[Any]]:
        """One summary row per session for the span rows at offsets ``kept`` (every row when None)."""
        traces: dict[str, list[Any]] = {}
        for offset in range(len(self.spans)) if kept is None else kept:
            row = self.spans[offset]
            summary = traces.get(row[_ROW_TRACE])
            if summary is None:
                summary = traces[row[_ROW_TRACE]] = _new_summary(row[_ROW_TRACE], row[_ROW_START], row[_ROW_END])
            _add_to_summary(summary, row, self.roots[offset], self.counts[offset])
        return list(traces.values())

    def sanitize(self) -> None:
        """Make every value bindable: SQLite wants valid UTF-8 and 64-bit integers."""
        self.sanitized = True
        self.spans = [[_bindable(v) for v in row] for row in self.spans]
        self.events = [[tuple(_bindable(v) for v in e) for e in events] for events in self.events]
        self.links = [[tuple(_bindable(v) for v in li) for li in links] for links in self.links]
        self.roots = [None if root is None else tuple(_bindable(v) for v in root) for root in self.roots]


_RESOLVED_EVENT: Final = sc.EVENT_ESCALATION_RESOLVED
_EXCEPTION_EVENT: Final = "exception"


def _exception_type(events: Sequence[Any]) -> str | None:
    """The ``exception.type`` of the last exception a failed span recorded."""
    for event in reversed(events):
        if name_of(event) == _EXCEPTION_EVENT:
            found = attributes_of(event).get(EXCEPTION_TYPE)
            if isinstance(found, str):
                return found
    return None


def _with_row_ids(rows: list[list[Any]], children: list[list[tuple[Any, ...]]]) -> list[tuple[Any, ...]]:
    """The events (or links) of each span row, each prefixed with that row's id."""
    return [(row[0], *child) for row, items in zip(rows, children, strict=True) for child in items]


def _bindable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if type(value) is int and not -(2**63) <= value < 2**63:
        return str(value)
    return value


class _ShutDown(Exception):
    """The exporter was shut down while a batch waited for the lock: the batch is rolled back."""


class StoreSpanExporter(SpanExporter):
    """Writes span batches into the SQLite store at ``path`` (created on first export, private to its user).

    A batch that meets another process's write lock is retried until it is written or the exporter
    shuts down: each attempt waits at most :data:`_BUSY_WAIT_MS` for the lock, and the exporter's own
    lock is released between attempts, so ``shutdown()`` and ``fork()`` never wait for the other process.
    """

    def __init__(self, path: Path, *, retention_days: int | None = None) -> None:
        self.path = Path(path)
        self._retention_days = resolve_retention_days(retention_days)
        self._conn: sqlite3.Connection | None = None
        #: Why every export fails (a child forked in the middle of a write; see ``UNSAFE_AFTER_FORK``).
        self.failure_reason: str | None = None
        #: The file the connection writes to: a store deleted or replaced is noticed.
        self._identity: StoreIdentity | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._resource_ids: dict[str, int] = {}
        self._next_prune = 0.0
        self._closed = False
        watch_forks(
            self,
            StoreSpanExporter._after_fork_in_child,
            prepare=StoreSpanExporter._before_fork,
            resume=StoreSpanExporter._after_fork_in_parent,
        )

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
        locked_since = time.monotonic()
        warned = False
        while True:
            with self._lock:
                if self._closed:
                    return SpanExportResult.FAILURE
                outcome = self._attempt(batch, len(spans))
            if outcome is not None:
                return outcome
            # Another process holds the write lock past one wait: try again, outside our lock.
            if not warned and time.monotonic() - locked_since >= _LOCKED_WARNING_S:
                warned = True
                self._warn_locked(locked_since, len(spans))
            if self._stopping.wait(_BETWEEN_ATTEMPTS_S * (1 + random.random())):
                return SpanExportResult.FAILURE  # shut down meanwhile: the batch processor counts these spans

    def shutdown(self) -> None:
        """Stop: an export waiting for another process's lock gives up at once (its caller counts the spans)."""
        self._closed = True
        self._stopping.set()
        with self._lock:  # held for at most one attempt
            self._close_connection()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Every export() is committed before it returns; this makes sure the store exists for readers,
        even before a span was written (False when another process holds it locked)."""
        if self._closed:
            return True
        with self._lock:
            try:
                self._connection()
            except (sqlite3.Error, ReaderError, OSError):
                return False
        return True

    # -- internals --------------------------------------------------------------
    def _attempt(self, batch: _Batch, count: int) -> SpanExportResult | None:
        """One try at writing ``batch`` (under our lock); None when another process holds the write lock."""
        while True:
            try:
                self._write(self._connection(), batch)
            except StoreLocked:
                return None
            except _ShutDown:
                return SpanExportResult.FAILURE
            except sqlite3.OperationalError as exc:
                if is_busy(exc):
                    return None
                logger.warning("otel_worklog: could not write %d spans to %s: %s", count, self.path, exc)
                return SpanExportResult.FAILURE
            except (UnicodeEncodeError, OverflowError) as exc:
                if batch.sanitized:
                    logger.warning("otel_worklog: could not write %d spans to %s: %s", count, self.path, exc)
                    return SpanExportResult.FAILURE
                batch.sanitize()  # lone surrogates or integers beyond 64 bits: store a readable form instead
                continue
            except (sqlite3.Error, ReaderError, OSError) as exc:
                # A read-only disk, a missing directory, a store from a newer version: never the app's problem.
                logger.warning("otel_worklog: could not write %d spans to %s: %s", count, self.path, exc)
                return SpanExportResult.FAILURE
            self._maybe_prune()
            return SpanExportResult.SUCCESS

    def _warn_locked(self, since: float, count: int) -> None:
        logger.warning(
            "otel_worklog: the store at %s has been locked by another process for %.0f s; %d spans wait and are"
            " retried until written or shutdown's deadline",
            self.path,
            time.monotonic() - since,
            count,
        )

    def _connection(self) -> sqlite3.Connection:
        identity = self._identity
        if self._conn is not None and identity is not None and not identity.still_there():
            logger.warning(
                "otel_worklog: the store at %s was deleted or replaced while this process wrote to it;"
                " starting a new store there",
                self.path,
            )
            self._close_connection()
            identity.remove_stale_wal()
        if self._conn is None:
            conn = connect(self.path, create=True, busy_timeout_ms=_BUSY_WAIT_MS)
            # Checkpoint the WAL every ~32 MB instead of every 4 MB: pages rewritten by consecutive batches
            # are copied into the database once, not once per checkpoint.
            conn.execute("PRAGMA wal_autocheckpoint = 8000")
            conn.execute("PRAGMA journal_size_limit = 67108864")
            self._conn = conn
            self._identity = StoreIdentity(self.path)
            self._resource_ids.clear()  # row ids of the file written before, if any
        return self._conn

    def _close_connection(self) -> None:
        conn, self._conn, self._identity = self._conn, None, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def _before_fork(self) -> bool:
        """Close the connection (when no export holds it) so a child inherits no SQLite state of this file.

        SQLite's state for an open file (locks, the WAL index) lives in process memory: a child that
        inherited it would see the parent's locks as its own. The parent reopens on its next export.
        """
        if not self._lock.acquire(timeout=FORK_WAIT_S):
            return False
        self._close_connection()
        return True

    def _after_fork_in_parent(self) -> None:
        self._lock.release()  # taken by _before_fork

    def _after_fork_in_child(self) -> None:
        if self._conn is not None:  # an export held it past the wait: this child cannot use SQLite safely
            keep_inherited(self._conn)
            self._closed = True
            self.failure_reason = UNSAFE_AFTER_FORK
            logger.warning(
                "otel_worklog: spans of process %d are not written to %s: %s", os.getpid(), self.path, UNSAFE_AFTER_FORK
            )
        self._conn, self._identity = None, None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        if self._closed:
            self._stopping.set()

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
            last_event = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
            for offset, row in enumerate(batch.spans):
                row[0] = next_id + offset
                if isinstance(row[_ROW_RESOURCE], str):
                    row[_ROW_RESOURCE] = self._resource_id(conn, row[_ROW_RESOURCE])
            kept: list[int] | None = None
            try:
                conn.executemany(_INSERT_SPAN, batch.spans)
            except sqlite3.IntegrityError:
                # A span exported twice (a retried batch): fall back to the row-by-row path.
                kept = self._write_deduplicated(conn, batch)
            else:
                conn.executemany(_INSERT_EVENT, _with_row_ids(batch.spans, batch.events))
                conn.executemany(_INSERT_LINK, _with_row_ids(batch.spans, batch.links))
            conn.executemany(_UPSERT_TRACE, batch.summaries(kept))
            conn.executemany(_INSERT_BOT, batch.bots(kept))
            self._count_resolutions(conn, batch, kept)
            conn.execute(_INDEX_MESSAGES, (last_event,))
            if self._closed:  # shutdown gave up on this batch meanwhile and counted it: keep that true
                raise _ShutDown
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _write_deduplicated(self, conn: sqlite3.Connection, batch: _Batch) -> list[int]:
        """Insert the spans not stored yet, with their events and links; returns their offsets in the batch."""
        kept: list[int] = []
        for offset, row in enumerate(batch.spans):
            cursor = conn.execute(_INSERT_SPAN.replace("INSERT", "INSERT OR IGNORE", 1), row)
            if cursor.rowcount != 1:
                continue
            kept.append(offset)
            conn.executemany(_INSERT_EVENT, _with_row_ids([row], [batch.events[offset]]))
            conn.executemany(_INSERT_LINK, _with_row_ids([row], [batch.links[offset]]))
        return kept

    @staticmethod
    def _count_resolutions(conn: sqlite3.Connection, batch: _Batch, kept: list[int] | None) -> None:
        """Count each escalation resolved once, whichever of it and its resolution arrived first.

        Runs once the batch's spans are in: an escalation of this batch resolved in an earlier one is found
        in the resolutions table; a resolution new in this batch finds its escalation among the spans.
        """
        resolved: dict[str, int] = {}
        escalations = batch.escalations
        if kept is not None:
            stored = {(batch.spans[offset][_ROW_TRACE], batch.spans[offset][_ROW_SPAN]) for offset in kept}
            escalations = [key for key in escalations if key in stored]
        for key in escalations:
            if conn.execute(_RESOLVED_BEFORE, key).fetchone() is not None:
                resolved[key[0]] = resolved.get(key[0], 0) + 1
        for key in batch.resolutions:
            if conn.execute(_INSERT_RESOLUTION, key).rowcount == 1 and conn.execute(_IS_ESCALATION, key).fetchone():
                resolved[key[0]] = resolved.get(key[0], 0) + 1
        conn.executemany(_ADD_RESOLVED, [(count, trace_id) for trace_id, count in resolved.items()])

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
