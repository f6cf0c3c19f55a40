"""The :class:`TraceReader` over the embedded SQLite store.

Every query is answered from an index: sessions from the ``traces`` summary
table, escalations from a partial index, text search from FTS5, one trace by
its id. That keeps ``logs``, ``explain`` and ``how`` fast on a store of 100,000
spans. ``iter_spans`` (analytics) reads a few hundred traces per query and
builds their records in bulk (:mod:`.store_rows`).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from otel_worklog._internal.exceptions import ReaderError, TraceNotFound
from otel_worklog._internal.query.gcpause import paused_gc
from otel_worklog._internal.query.ids import normalize_trace_id
from otel_worklog._internal.query.records import EntryHit, EventRecord, SessionSummary, SpanRecord
from otel_worklog._internal.query.store_rows import (
    EVENT_COLUMNS,
    LINK_COLUMNS,
    LISTED_ORDER,
    LISTED_SPAN_COLUMNS,
    SPAN_COLUMNS,
    build_spans,
    loads_object,
)
from otel_worklog._internal.store.schema import open_for_reading

__all__ = ["StoreReader", "fts_query"]

_WORD = re.compile(r"\w+", re.UNICODE)
_TRACES_PER_QUERY = 128
_IDS_PER_QUERY = 500


def fts_query(text: str) -> str | None:
    """An FTS5 query matching every word of ``text`` (the last one as a prefix); user text never becomes syntax."""
    words = _WORD.findall(text)
    if not words:
        return None
    quoted = ['"' + word.replace('"', '""') + '"' for word in words]
    quoted[-1] += "*"
    return " ".join(quoted)


def _like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class StoreReader:
    """Reads the store at ``path``, read-only; a missing file is a one-line :class:`StoreNotFound`, another
    app's database a one-line :class:`NotAStore`, and neither is changed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = open_for_reading(self.path)
        # No memory map (PRAGMA mmap_size): it saves 3% of `analyze` over 200,000 spans, but an I/O error
        # on a mapped page kills the process (SIGBUS) where a read() gives a one-line error.
        self._resources: dict[int, dict[str, Any]] = {}

    # -- helpers ----------------------------------------------------------------
    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise ReaderError(f"cannot read the store at {self.path}: {exc}") from exc

    def _resource(self, rid: int | None) -> dict[str, Any]:
        if rid is None:
            return {}
        found = self._resources.get(rid)
        if found is None:
            rows = self._query("SELECT attributes FROM resources WHERE id = ?", (rid,))
            found = loads_object(rows[0][0]) if rows else {}
            self._resources[rid] = found
        return found

    def _spans_from_rows(self, rows: list[Any], trace_ids: Mapping[Any, str] | None = None) -> list[SpanRecord]:
        """Records for ``rows`` (:data:`SPAN_COLUMNS`), in their order, events and links attached.

        ``trace_ids`` maps the rows' trace keys to trace ids; without it the keys are the trace ids.
        """
        if not rows:
            return []
        if trace_ids is None:
            trace_ids = {row[1]: row[1] for row in rows}
        ids = [row[0] for row in rows]
        events = self._children("events", EVENT_COLUMNS, ids)
        return build_spans(rows, trace_ids, events, self._children("links", LINK_COLUMNS, ids), self._resource)

    def _children(self, table: str, columns: str, ids: list[int]) -> list[Any]:
        """The ``events`` or ``links`` rows of the spans with row ids ``ids``, in (span, id) order."""
        low, high = min(ids), max(ids)
        order = " ORDER BY span_rowid, id"
        if high - low < 4 * len(ids):
            # Spans read together were mostly written together: one index range scan beats a lookup each.
            rows = self._query(f"SELECT {columns} FROM {table} WHERE span_rowid BETWEEN ? AND ?" + order, (low, high))
            if high - low + 1 == len(ids):
                return rows  # the ids are exactly that range
            wanted = set(ids)
            return [row for row in rows if row[0] in wanted]
        found: list[Any] = []
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start : start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            found += self._query(f"SELECT {columns} FROM {table} WHERE span_rowid IN ({marks})" + order, chunk)
        return found

    def resolve_trace_id(self, trace_id: str) -> str:
        """A full trace id from a full one (hex or base64) or a unique hex prefix of at least 6 characters."""
        text = trace_id.strip().lower()
        if len(text) < 32 and re.fullmatch(r"[0-9a-f]{6,31}", text):
            rows = self._query(
                "SELECT trace_id FROM traces WHERE trace_id >= ? AND trace_id < ? LIMIT 2", (text, text + "g")
            )
            if len(rows) == 1:
                return str(rows[0][0])
            if len(rows) > 1:
                raise TraceNotFound(f"trace id prefix {trace_id!r} is ambiguous; give more characters")
            raise TraceNotFound(f"no trace {trace_id!r} in the store at {self.path}")
        full = normalize_trace_id(trace_id)
        if full is None:
            raise TraceNotFound(f"{trace_id!r} is not a trace id (32 hex characters)")
        return full

    # -- TraceReader ------------------------------------------------------------
    def sessions(
        self,
        *,
        workspace: str | None = None,
        bot: str | None = None,
        limit: int = 20,
        since_ns: int | None = None,
        until_ns: int | None = None,
    ) -> list[SessionSummary]:
        where: list[str] = []
        params: list[Any] = []
        if workspace is not None:
            where.append("t.workspace_id = ?")
            params.append(workspace)
        if bot is not None:
            where.append("EXISTS (SELECT 1 FROM trace_bots b WHERE b.trace_id = t.trace_id AND b.bot_name = ?)")
            params.append(bot)
        if since_ns is not None:
            where.append("t.start_ns >= ?")
            params.append(since_ns)
        if until_ns is not None:
            where.append("t.start_ns < ?")
            params.append(until_ns)
        sql = (
            "SELECT t.trace_id, t.workspace_id, t.workspace_type, t.query, t.start_ns, t.end_ns, t.escalations,"
            " t.errors, t.span_count,"
            " (SELECT group_concat(b.bot_name, char(31)) FROM trace_bots b WHERE b.trace_id = t.trace_id),"
            " t.failed_bots, t.error_entries, t.resolved_escalations"
            " FROM traces t" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY t.start_ns DESC LIMIT ?"
        )
        params.append(max(0, int(limit)))
        return [
            SessionSummary(
                trace_id=row[0],
                workspace_id=row[1],
                workspace_type=row[2],
                query=row[3],
                bots=tuple(row[9].split("\x1f")) if row[9] else (),
                start_ns=row[4],
                end_ns=row[5],
                escalations=row[6],
                errors=row[7],
                span_count=row[8],
                failed_bots=row[10],
                error_entries=row[11],
                resolved_escalations=row[12],
            )
            for row in self._query(sql, params)
        ]

    def latest_trace_id(self, *, workspace: str | None = None, bot: str | None = None) -> str | None:
        found = self.sessions(workspace=workspace, bot=bot, limit=1)
        return found[0].trace_id if found else None

    def trace(self, trace_id: str) -> list[SpanRecord]:
        full = self.resolve_trace_id(trace_id)
        rows = self._query(f"SELECT {SPAN_COLUMNS} FROM spans s WHERE trace_id = ? ORDER BY start_ns, id", (full,))
        if not rows:
            raise TraceNotFound(f"no trace {full} in the store at {self.path}")
        return self._spans_from_rows(rows)

    def search_entries(
        self, text: str, *, workspace: str | None = None, bot: str | None = None, limit: int = 50
    ) -> list[EntryHit]:
        filters = ""
        params: list[Any] = []
        if workspace is not None:
            filters += " AND s.workspace_id = ?"
            params.append(workspace)
        if bot is not None:
            filters += " AND s.bot_name = ?"
            params.append(bot)
        # Newest first by insertion order (row id): FTS5 walks its index backwards and stops at the limit,
        # so a common word over 100,000 spans costs under a millisecond instead of sorting every match.
        select = (
            "SELECT e.name, e.time_ns, e.attributes, s.trace_id, s.span_id, s.name, s.workspace_id, s.bot_name"
            " FROM {source} JOIN spans s ON s.id = e.span_rowid WHERE {match}" + filters + " ORDER BY {order} DESC"
            " LIMIT ?"
        )
        rows: list[Any] = []
        query = fts_query(text)
        if query is not None:
            rows = self._query(
                select.format(
                    source="events_fts f JOIN events e ON e.id = f.rowid", match="events_fts MATCH ?", order="f.rowid"
                ),
                [query, *params, limit],
            )
        if not rows and text.strip():
            # Substring fallback (punctuation, partial words): what the seeds' `how` matched on.
            rows = self._query(
                select.format(source="events e", match="e.message LIKE ? ESCAPE '\\'", order="e.id"),
                [_like_pattern(text.strip()), *params, limit],
            )
        return [
            EntryHit(
                trace_id=row[3],
                span_id=row[4],
                span_name=row[5],
                workspace_id=row[6],
                bot_name=row[7],
                event=EventRecord(row[0], row[1], loads_object(row[2])),
            )
            for row in rows
        ]

    def escalations(
        self, *, workspace: str | None = None, bot: str | None = None, limit: int = 50, since_ns: int | None = None
    ) -> list[SpanRecord]:
        sql = f"SELECT {SPAN_COLUMNS} FROM spans s WHERE escalation = 1"
        params: list[Any] = []
        if workspace is not None:
            sql += " AND workspace_id = ?"
            params.append(workspace)
        if bot is not None:
            sql += " AND bot_name = ?"
            params.append(bot)
        if since_ns is not None:
            sql += " AND start_ns >= ?"
            params.append(since_ns)
        sql += " ORDER BY start_ns DESC LIMIT ?"
        params.append(limit)
        return self._spans_from_rows(self._query(sql, params))

    def iter_spans(
        self, *, since_ns: int | None = None, until_ns: int | None = None, workspace: str | None = None
    ) -> Iterator[SpanRecord]:
        sql = "SELECT trace_id FROM traces WHERE 1 = 1"
        params: list[Any] = []
        if since_ns is not None:
            sql += " AND end_ns >= ?"
            params.append(since_ns)
        if until_ns is not None:
            sql += " AND start_ns < ?"
            params.append(until_ns)
        if workspace is not None:
            sql += " AND workspace_id = ?"
            params.append(workspace)
        sql += " ORDER BY start_ns"
        trace_ids = [trace_id for (trace_id,) in self._query(sql, params)]
        # Traces are read a few hundred at a time: one query per trace made 200,000 spans take 10 s.
        for start in range(0, len(trace_ids), _TRACES_PER_QUERY):
            chunk = trace_ids[start : start + _TRACES_PER_QUERY]
            with paused_gc():  # the records are acyclic: collector passes over them are wasted work
                rows = self._query(
                    f"SELECT {LISTED_SPAN_COLUMNS} FROM json_each(?) j JOIN spans s ON s.trace_id = j.value",
                    (json.dumps(chunk),),
                )
                rows.sort(key=LISTED_ORDER)  # by trace in chunk order, then by start
                spans = self._spans_from_rows(rows, dict(enumerate(chunk)))
            yield from spans

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
