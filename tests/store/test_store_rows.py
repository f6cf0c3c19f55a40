"""Reading many spans at once from the store: bulk decoding, bulk record building, events and links."""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.model import EventRecord, LinkRecord, SpanRecord
from otel_worklog._internal.readers import StoreReader
from otel_worklog._internal.readers.store_rows import decode_objects, new_span
from otel_worklog._internal.store.exporter import StoreSpanExporter

T0 = 1_700_000_000_000_000_000


def _record() -> SpanRecord:
    return SpanRecord(
        trace_id="a" * 32,
        span_id="b" * 16,
        parent_span_id=None,
        name="workspace #w",
        kind="SERVER",
        start_ns=1,
        end_ns=2,
        status_code="ERROR",
        status_message="boom",
        attributes={"k": [1, 2]},
        events=(EventRecord("e", 3, {"x": 1}),),
        links=(LinkRecord("c" * 32, "d" * 16, {}),),
        resource={"service.name": "s"},
        scope="other",
    )


class TestBuilding:
    def test_new_span_builds_the_same_frozen_record(self) -> None:
        expected = _record()
        built = new_span(*(getattr(expected, f.name) for f in dataclasses.fields(SpanRecord)))
        assert built == expected and type(built) is SpanRecord
        with pytest.raises(dataclasses.FrozenInstanceError):
            built.name = "changed"  # type: ignore[misc]

    def test_new_span_takes_every_field_in_order(self) -> None:
        """A field added to SpanRecord must be added to new_span too (it sets the slots by position)."""
        parameters = list(new_span.__code__.co_varnames[: new_span.__code__.co_argcount])
        assert parameters == [f.name for f in dataclasses.fields(SpanRecord)]

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
