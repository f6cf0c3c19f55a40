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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.exceptions import ReaderError, TraceNotFound
from otel_worklog._internal.query.failures import EXCEPTION_EVENT, matching_failures, note_resolution
from otel_worklog._internal.query.gcpause import paused_gc
from otel_worklog._internal.query.ids import normalize_trace_id
from otel_worklog._internal.query.matching import fts_query
from otel_worklog._internal.query.records import EntryHit, EventRecord, SearchResult, SessionSummary, SpanRecord
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

__all__ = ["StoreReader"]

_TRACES_PER_QUERY = 128
_IDS_PER_QUERY = 500


def _like_pattern(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _shared_prefix(text: str, other: str) -> int:
    """How many leading characters ``text`` and ``other`` share."""
    return next((i for i, (a, b) in enumerate(zip(text, other, strict=False)) if a != b), min(len(text), len(other)))


class StoreReader:
    """Reads the store at ``path``, read-only; a missing file is a one-line :class:`StoreNotFound`, another
    app's database a one-line :class:`NotAStore`, and neither is changed."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn = open_for_reading(self.path)
        # No memory map (PRAGMA mmap_size): it saves little, and an I/O error on a mapped page kills the
        # process (SIGBUS) where a read() gives a one-line error.
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

    def search(
        self, text: str, *, workspace: str | None = None, bot: str | None = None, limit: int = 50
    ) -> SearchResult:
        filters = ""
        params: list[Any] = []
        if workspace is not None:
            filters += " AND s.workspace_id = ?"
            params.append(workspace)
        if bot is not None:
            filters += " AND s.bot_name = ?"
            params.append(bot)
        entries, total = self._search_entries(text, filters, params, limit)
        errors = self._search_errors(text, filters, params)
        hits = sorted([*entries, *errors], key=lambda hit: hit.event.time_ns, reverse=True)[: max(0, limit)]
        return SearchResult(hits, total + len(errors))

    def search_entries(
        self, text: str, *, workspace: str | None = None, bot: str | None = None, limit: int = 50
    ) -> list[EntryHit]:
        return self.search(text, workspace=workspace, bot=bot, limit=limit).hits

    def _search_entries(self, text: str, filters: str, params: list[Any], limit: int) -> tuple[list[EntryHit], int]:
        """Entries matching ``text``, newest first, and how many match in all."""
        # Newest first by insertion order (row id): FTS5 walks its index backwards and stops at the limit,
        # so a common word costs the same as a rare one instead of sorting every match.
        source = "events_fts f JOIN events e ON e.id = f.rowid JOIN spans s ON s.id = e.span_rowid"
        select = (
            "SELECT e.name, e.time_ns, e.attributes, s.trace_id, s.span_id, s.name, s.workspace_id, s.bot_name"
            " FROM {source} WHERE {match}" + filters
        )
        query = fts_query(text)
        rows: list[Any] = []
        total = 0
        if query is not None:
            rows = self._query(
                select.format(source=source, match="events_fts MATCH ?") + " ORDER BY f.rowid DESC LIMIT ?",
                [query, *params, limit],
            )
            # Unfiltered, the index alone counts: no join with the spans.
            counted = (
                f"{source} WHERE events_fts MATCH ?{filters}" if filters else "events_fts WHERE events_fts MATCH ?"
            )
            total = self._query(f"SELECT count(*) FROM {counted}", [query, *params])[0][0]
        if not rows and text.strip():
            # Substring fallback, for what is not a word: punctuation, a path, part of a word.
            like = [_like_pattern(text.strip()), *params]
            source = "events e JOIN spans s ON s.id = e.span_rowid"
            match = "e.message LIKE ? ESCAPE '\\'"
            ordered = select.format(source=source, match=match) + " ORDER BY e.id DESC LIMIT ?"
            rows = self._query(ordered, [*like, limit])
            total = self._query(f"SELECT count(*) FROM {source} WHERE {match}{filters}", like)[0][0]
        hits = [
            EntryHit(row[3], row[4], row[5], row[6], row[7], EventRecord(row[0], row[1], loads_object(row[2])))
            for row in rows
        ]
        return hits, int(total)

    def _search_errors(self, text: str, filters: str, params: list[Any]) -> list[EntryHit]:
        """Failed steps (a tool's error, an exception) whose error matches ``text``, each error once."""
        # The sessions with a failure first (CROSS JOIN keeps that order), then their failed spans by trace id.
        rows = self._query(
            "SELECT s.id, s.trace_id, s.span_id, s.name, s.workspace_id, s.bot_name, s.status_message, s.start_ns,"
            " s.end_ns, s.attributes FROM traces t CROSS JOIN spans s ON s.trace_id = t.trace_id"
            " WHERE t.errors > 0 AND s.error = 1" + filters,
            params,
        )
        if not rows:
            return []
        exceptions: dict[int, EventRecord] = {}
        for span_rowid, time_ns, attributes in self._children_named([row[0] for row in rows], EXCEPTION_EVENT):
            exceptions.setdefault(span_rowid, EventRecord(EXCEPTION_EVENT, time_ns, loads_object(attributes)))
        failed = (
            SpanRecord(
                trace_id=row[1],
                span_id=row[2],
                parent_span_id=None,
                name=row[3],
                kind="INTERNAL",
                start_ns=row[7],
                end_ns=row[8],
                status_code="ERROR",
                status_message=row[6],
                attributes={**loads_object(row[9]), sc.WORKSPACE_ID: row[4], sc.BOT_NAME: row[5]},
                events=(exceptions[row[0]],) if row[0] in exceptions else (),
            )
            for row in rows
        )
        return matching_failures(failed, text)

    def _children_named(self, span_rowids: list[int], name: str) -> list[Any]:
        """(span row id, time, attributes) of the events called ``name`` on these spans."""
        found: list[Any] = []
        for start in range(0, len(span_rowids), _IDS_PER_QUERY):
            chunk = span_rowids[start : start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            found += self._query(
                f"SELECT span_rowid, time_ns, attributes FROM events WHERE span_rowid IN ({marks}) AND name = ?"
                " ORDER BY id",
                [*chunk, name],
            )
        return found

    def workspaces(self) -> list[str]:
        rows = self._query("SELECT DISTINCT workspace_id FROM traces WHERE workspace_id IS NOT NULL")
        return sorted(str(row[0]) for row in rows)

    def resolutions(self, trace_ids: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        wanted = sorted(set(trace_ids))
        for start in range(0, len(wanted), _IDS_PER_QUERY):
            chunk = wanted[start : start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            for (attributes,) in self._query(
                "SELECT e.attributes FROM spans s JOIN events e ON e.span_rowid = s.id"
                f" WHERE s.trace_id IN ({marks}) AND e.name = ? ORDER BY e.id",
                [*chunk, sc.EVENT_ESCALATION_RESOLVED],
            ):
                note_resolution(loads_object(attributes), found)
        return found

    def short_trace_ids(self, trace_ids: Iterable[str], *, minimum: int = 8) -> dict[str, str]:
        shown: dict[str, str] = {}
        for trace_id in trace_ids:
            neighbours = [
                row[0]
                for order, sign in (("DESC", "<"), ("ASC", ">"))
                for row in self._query(
                    f"SELECT trace_id FROM traces WHERE trace_id {sign} ? ORDER BY trace_id {order} LIMIT 1",
                    (trace_id,),
                )
            ]
            shared = max((_shared_prefix(trace_id, other) for other in neighbours), default=0)
            shown[trace_id] = trace_id[: max(minimum, shared + 1)]
        return shown

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
