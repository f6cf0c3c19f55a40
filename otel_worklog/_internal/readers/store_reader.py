"""The :class:`TraceReader` over the embedded SQLite store.

Every query is answered from an index: sessions from the ``traces`` summary
table, escalations from a partial index, text search from FTS5, one trace by
its id. That keeps ``logs``, ``explain`` and ``how`` fast on a store of 100,000
spans.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from otel_worklog._internal.model import (
    EntryHit,
    EventRecord,
    LinkRecord,
    ReaderError,
    SessionSummary,
    SpanRecord,
    TraceNotFound,
)
from otel_worklog._internal.readers.ids import normalize_trace_id
from otel_worklog._internal.store.schema import connect

__all__ = ["StoreReader", "fts_query"]

_SPAN_COLUMNS = (
    "id, trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code, status_message,"
    " attributes, scope, resource_id"
)
_WORD = re.compile(r"\w+", re.UNICODE)
_TRACES_PER_QUERY = 256


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


def _loads(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class StoreReader:
    """Reads the store at ``path``; a missing file is a one-line :class:`StoreNotFound`."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = connect(self.path, create=False)
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
            found = _loads(rows[0][0]) if rows else {}
            self._resources[rid] = found
        return found

    def _spans_from_rows(self, rows: list[Any]) -> list[SpanRecord]:
        if not rows:
            return []
        ids = [row[0] for row in rows]
        events: dict[int, list[EventRecord]] = {}
        links: dict[int, list[LinkRecord]] = {}
        for chunk_start in range(0, len(ids), 500):
            chunk = ids[chunk_start : chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            for rowid, name, time_ns, attrs in self._query(
                f"SELECT span_rowid, name, time_ns, attributes FROM events WHERE span_rowid IN ({marks}) ORDER BY id",
                chunk,
            ):
                events.setdefault(rowid, []).append(EventRecord(name, time_ns, _loads(attrs)))
            for rowid, trace_id, span_id, attrs in self._query(
                f"SELECT span_rowid, trace_id, span_id, attributes FROM links WHERE span_rowid IN ({marks})"
                " ORDER BY id",
                chunk,
            ):
                links.setdefault(rowid, []).append(LinkRecord(trace_id, span_id, _loads(attrs)))
        return [
            SpanRecord(
                trace_id=row[1],
                span_id=row[2],
                parent_span_id=row[3],
                name=row[4],
                kind=row[5],
                start_ns=row[6],
                end_ns=row[7],
                status_code=row[8],
                status_message=row[9] or "",
                attributes=_loads(row[10]),
                events=tuple(events.get(row[0], ())),
                links=tuple(links.get(row[0], ())),
                resource=self._resource(row[12]),
                scope=row[11] or "",
            )
            for row in rows
        ]

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
            " (SELECT group_concat(b.bot_name, char(31)) FROM trace_bots b WHERE b.trace_id = t.trace_id)"
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
            )
            for row in self._query(sql, params)
        ]

    def latest_trace_id(self, *, workspace: str | None = None, bot: str | None = None) -> str | None:
        found = self.sessions(workspace=workspace, bot=bot, limit=1)
        return found[0].trace_id if found else None

    def trace(self, trace_id: str) -> list[SpanRecord]:
        full = self.resolve_trace_id(trace_id)
        rows = self._query(f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns, id", (full,))
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
                event=EventRecord(row[0], row[1], _loads(row[2])),
            )
            for row in rows
        ]

    def escalations(
        self, *, workspace: str | None = None, bot: str | None = None, limit: int = 50, since_ns: int | None = None
    ) -> list[SpanRecord]:
        sql = f"SELECT {_SPAN_COLUMNS} FROM spans WHERE escalation = 1"
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
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id IN ({marks}) ORDER BY start_ns, id", chunk
            )
            by_trace: dict[str, list[SpanRecord]] = {}
            for span in self._spans_from_rows(rows):
                by_trace.setdefault(span.trace_id, []).append(span)
            for trace_id in chunk:
                yield from by_trace.get(trace_id, ())

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
