"""Reading many spans at once from the store: bulk decoding, bulk record building, events and links."""

from __future__ import annotations

import gc
import json
import math
import sqlite3
from collections.abc import Generator, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query import store_reader
from otel_worklog._internal.query.readers import StoreReader
from otel_worklog._internal.query.records import EventRecord, LinkRecord, SpanRecord
from otel_worklog._internal.query.store_rows import build_spans, decode_objects
from otel_worklog._internal.span_kinds import Kind
from otel_worklog._internal.store.exporter import StoreSpanExporter
from otel_worklog._internal.store.retention import prune
from otel_worklog._internal.store.schema import PART_CODES

T0 = 1_700_000_000_000_000_000


class TestBuilding:
    def test_rows_become_the_records_the_constructor_gives(self) -> None:
        """NULL columns read as their usual values; events and links go to their own span, in order."""
        rows = [
            (7, 0, "b" * 16, None, "workspace #w", None, 1, 9, None, None, '{"k":[1,2]}', None, None, 1),
            (8, 0, "c" * 16, "b" * 16, "x", "SERVER", 3, 4, "ERROR", "boom", "not json", "other", 5, 3),
            (9, 1, "d" * 16, None, "y", None, 5, 6, "OK", None, "{}", None, 5, None),
        ]
        events = [(8, "e", 3, '{"x":1}'), (8, "f", 4, "{}"), (9, "g", 5, '{"y":2}')]
        links = [(7, "e" * 32, "f" * 16, '{"n":1}')]
        asked: list[int | None] = []

        def resource(rid: int | None) -> dict[str, str]:
            asked.append(rid)
            return {"service.name": "s"} if rid == 5 else {}

        built = build_spans(rows, {0: "a" * 32, 1: "9" * 32}, events, links, resource)
        expected = [
            SpanRecord(
                "a" * 32,
                "b" * 16,
                None,
                "workspace #w",
                "INTERNAL",
                1,
                9,
                "UNSET",
                "",
                {"k": [1, 2]},
                links=(LinkRecord("e" * 32, "f" * 16, {"n": 1}),),
                scope=sc.INSTRUMENTATION_SCOPE,
            ),
            SpanRecord(
                "a" * 32,
                "c" * 16,
                "b" * 16,
                "x",
                "SERVER",
                3,
                4,
                "ERROR",
                "boom",
                {},
                events=(EventRecord("e", 3, {"x": 1}), EventRecord("f", 4, {})),
                resource={"service.name": "s"},
                scope="other",
            ),
            SpanRecord(
                "9" * 32,
                "d" * 16,
                None,
                "y",
                "INTERNAL",
                5,
                6,
                "OK",
                "",
                {},
                events=(EventRecord("g", 5, {"y": 2}),),
                resource={"service.name": "s"},
                scope=sc.INSTRUMENTATION_SCOPE,
            ),
        ]
        assert built == expected
        assert sorted(asked, key=str) == [5, None]  # once per resource id
        # The kind stored at ingest is the record's part; a span stored without one is classified when asked.
        assert [span.known_part for span in built] == [Kind.WORKSPACE, Kind.TOOL, None]
        assert built[2].part is Kind.OTHER and built[2].known_part is Kind.OTHER

    def test_every_kind_is_stored_under_a_code_of_its_own(self) -> None:
        assert set(PART_CODES) == set(Kind)
        assert len(set(PART_CODES.values())) == len(Kind)

    def test_a_part_this_release_does_not_know_is_classified_when_asked(self) -> None:
        row = (7, 0, "b" * 16, None, "execute_tool search", None, 1, 9, None, None, "{}", None, None, "tool")
        (built,) = build_spans([row], {0: "a" * 32}, [], [], lambda rid: {})
        assert built.known_part is None and built.part is Kind.TOOL

    def test_decode_objects_is_json_loads_of_each(self) -> None:
        texts = ['{"a":1,"b":"x"}', '{"b":[1,2.5,null],"c":{"d":true}}', '{"n":NaN,"i":Infinity}', "{}"]
        decoded = decode_objects(texts)
        assert decoded[:2] == [json.loads(text) for text in texts[:2]] and decoded[3] == {}
        assert math.isnan(decoded[2]["n"]) and decoded[2]["i"] == math.inf

    def test_decode_objects_gives_empty_objects_for_bad_values_and_keeps_the_rest(self) -> None:
        texts = ['{"a":1}', "", "not json", "[1]", '{"b":1}, {"c":2}', None, '{"z":true}']
        assert decode_objects(texts) == [{"a": 1}, {}, {}, {}, {}, {}, {"z": True}]
        assert decode_objects(["[1]", "2"]) == [{}, {}]  # valid JSON that is no object
        assert decode_objects([]) == []


def _trace(workspace: str, start_ns: int, children: int) -> list[ReadableSpan]:
    """A root and ``children`` tool spans (two entries and a link each); two children start together."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    root = tracer.start_span(
        f"workspace {workspace}",
        attributes={sc.WORKSPACE_ID: workspace, sc.WORKSPACE_TYPE: "project"},
        start_time=start_ns,
    )
    context = trace.set_span_in_context(root)
    for index in range(children):
        begin = start_ns + 10 + (index // 2) * 10  # pairs start at the same nanosecond
        child = tracer.start_span(
            f"execute_tool t{index}",
            context=context,
            attributes={sc.WORKSPACE_ID: workspace, sc.GEN_AI_TOOL_NAME: f"t{index}", "n": index},
            links=[Link(root.get_span_context(), {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF, "n": index})],
            start_time=begin,
        )
        for entry in range(2):
            child.add_event(
                sc.event_name("info"),
                {sc.WORKLOG_LEVEL: "info", sc.WORKLOG_MESSAGE: f"{workspace} {index} {entry}"},
                timestamp=begin + 1 + entry,
            )
        child.end(end_time=begin + 5)
    root.end(end_time=start_ns + 1_000)
    return list(memory.get_finished_spans())


def _write(path: Path, *batches: list[ReadableSpan]) -> None:
    exporter = StoreSpanExporter(path, retention_days=0)  # the spans are from 2023: keep them
    for batch in batches:
        assert exporter.export(batch) == SpanExportResult.SUCCESS
    exporter.shutdown()


def _statements(reader: StoreReader) -> list[str]:
    seen: list[str] = []
    reader._conn.set_trace_callback(seen.append)
    return seen


def _check_entries(spans: list[SpanRecord], workspace: str) -> None:
    """Every span has exactly its own entries and link, in order: nothing from a neighbouring row."""
    for span in spans:
        if span.parent_span_id is None:
            assert span.events == () and span.links == ()
            continue
        index = span.attributes["n"]
        assert [e.attributes[sc.WORKLOG_MESSAGE] for e in span.events] == [f"{workspace} {index} {i}" for i in (0, 1)]
        assert [link.attributes["n"] for link in span.links] == [index]


class TestIterSpans:
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[Path]:
        """Trace #a written in three pieces around #b and #c, so its spans' row ids are far apart."""
        path = tmp_path / "rows.db"
        a = _trace("#a", T0, 6)
        _write(path, a[:2], _trace("#b", T0 + 100, 30), a[2:4], _trace("#c", T0 - 100, 3), a[4:])
        yield path

    def test_every_span_once_grouped_by_trace_oldest_trace_first(self, store: Path) -> None:
        with StoreReader(store) as reader:
            spans = list(reader.iter_spans())
            order = [s.trace_id for s in reader.sessions(limit=10)][::-1]
            assert [s.trace_id for s in spans] == [t for t in order for s in reader.trace(t)]
            assert spans == [s for t in order for s in reader.trace(t)]  # trace() orders by (start, row id)
        for workspace in ("#a", "#b", "#c"):
            _check_entries([s for s in spans if s.workspace_id == workspace], workspace)
        starts = [s.start_ns for s in spans if s.workspace_id == "#a"]
        assert starts == sorted(starts) and len(starts) != len(set(starts))  # ties kept in row order

    def test_traces_split_over_several_queries_keep_their_order(
        self, store: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with StoreReader(store) as reader:
            expected = list(reader.iter_spans())
            monkeypatch.setattr(store_reader, "_TRACES_PER_QUERY", 2)  # #c and #a in one query, #b in the next
            assert list(reader.iter_spans()) == expected
            assert list(reader.iter_spans(until_ns=T0 + 50)) == [s for s in expected if s.workspace_id != "#b"]

    def test_a_store_shrunk_by_another_process_mid_read_is_read_safely(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Pruning and vacuuming the store between two of the reader's queries shrinks the file under it."""
        path = tmp_path / "shrunk.db"
        _write(path, *(_trace(f"#{n}", T0 + n * 10_000, 40) for n in range(12)))
        monkeypatch.setattr(store_reader, "_TRACES_PER_QUERY", 1)
        with StoreReader(path) as reader:
            spans = reader.iter_spans()
            first = [next(spans)]
            size = path.stat().st_size
            with closing(sqlite3.connect(path, isolation_level=None)) as conn:
                assert prune(conn, older_than_ns=T0 + 110_000).traces == 11  # all but the newest, #11
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            assert path.stat().st_size < size / 2
            rest = list(spans)
        assert {s.workspace_id for s in first} == {"#0"}  # read before the prune
        assert {s.workspace_id for s in rest} == {"#0", "#11"} and len(rest) == 40 + 41
        _check_entries([s for s in rest if s.workspace_id == "#11"], "#11")

    def test_spans_written_far_apart_come_back_with_their_own_entries(self, store: Path) -> None:
        with StoreReader(store) as reader:
            statements = _statements(reader)
            (session,) = reader.sessions(workspace="#a")
            spans = list(reader.iter_spans(workspace="#a"))
            assert spans == reader.trace(session.trace_id) and len(spans) == 7
        _check_entries(spans, "#a")
        assert any("span_rowid IN (" in sql for sql in statements)  # ids too sparse for one range

    def test_one_range_with_other_spans_inside_gives_each_span_its_own_entries(self, tmp_path: Path) -> None:
        path = tmp_path / "dense.db"
        a, b = _trace("#a", T0, 4), _trace("#b", T0 + 5, 1)
        _write(path, a[:3] + b + a[3:])  # one batch: #b's rows sit between #a's
        with StoreReader(path) as reader:
            statements = _statements(reader)
            spans = list(reader.iter_spans(workspace="#a"))
            assert len(spans) == 5 and {s.workspace_id for s in spans} == {"#a"}
        _check_entries(spans, "#a")
        assert any("span_rowid BETWEEN" in sql for sql in statements)

    def test_the_collector_is_paused_only_while_a_chunk_is_built(self, store: Path) -> None:
        assert gc.isenabled()
        with StoreReader(store) as reader:
            spans = reader.iter_spans()
            assert isinstance(spans, Generator)  # closing it early gives the collector back
            next(spans)
            assert gc.isenabled()  # the caller's code runs with the collector as it left it
            spans.close()
            gc.disable()
            try:
                assert len(list(reader.iter_spans())) == 42
                assert not gc.isenabled()  # a caller that paused it keeps it paused
            finally:
                gc.enable()

    def test_rows_with_other_kinds_no_scope_and_no_resource_read_the_same(self, tmp_path: Path) -> None:
        """Rows as version 1 wrote them (no scope, no resource) and values other than the usual ones."""
        path = tmp_path / "v1.db"
        _write(path, _trace("#a", T0, 2))
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE spans SET scope = '', resource_id = NULL, kind = 'CLIENT', status_code = 'OK'")
        with StoreReader(path) as reader:
            spans = list(reader.iter_spans())
            assert spans == reader.trace(spans[0].trace_id)
        assert {(s.scope, s.kind, s.status_code) for s in spans} == {("", "CLIENT", "OK")}
        assert all(s.resource == {} for s in spans)
