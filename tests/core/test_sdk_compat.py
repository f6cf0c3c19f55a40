"""Every read of the SDK's private fields has a public-API fallback, and both give the same answers.

The private path is taken on the real SDK's spans; the fallback on a span that offers only the
public API (as a future SDK might, or a span type of another SDK), and on spans whose private
fields have another type than the SDK's own (``ReadableSpan(attributes={...})`` keeps a plain dict).
The detectors, the insight processor and the store's exporter must work the same on all of them.
"""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.trace import Link

from otel_worklog import semconv as sc
from otel_worklog._internal import sdk_compat
from otel_worklog._internal.pipeline.detectors import DetectorProcessor, resolve_config
from otel_worklog._internal.pipeline.detectors.alerts import Alert, clear_alert_callbacks, on_alert
from otel_worklog._internal.query.readers import StoreReader
from otel_worklog._internal.store.exporter import StoreSpanExporter
from tests.sdk_spans import finished_spans


class PublicOnly:
    """A finished span seen only through the public API: every ``_private`` field is missing."""

    def __init__(self, span: ReadableSpan) -> None:
        self.__dict__["_wrapped"] = span

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.__dict__["_wrapped"], name)


class PublicOnlyEvent:
    def __init__(self, event: Event) -> None:
        self.name = event.name
        self.timestamp = event.timestamp
        self.attributes = MappingProxyType(dict(event.attributes or {}))


def _public_only(span: ReadableSpan) -> PublicOnly:
    wrapped = PublicOnly(span)
    wrapped.__dict__["events"] = tuple(PublicOnlyEvent(e) for e in span.events)
    return wrapped


def _odd_types(span: ReadableSpan) -> ReadableSpan:
    """The same span, its private fields of other types than the SDK's own (plain dict, list, tuple)."""
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=dict(span.attributes or {}),
        events=list(span.events),
        links=tuple(span.links),
        kind=span.kind,
        status=span.status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


@pytest.fixture
def finished() -> list[ReadableSpan]:
    """A workspace > bot > tool trace with entries and a link, made by the real SDK."""
    base = {sc.WORKSPACE_ID: "#compat"}
    with finished_spans() as (tracer, spans):
        with tracer.start_as_current_span("workspace #compat", attributes={**base, sc.WORKSPACE_TYPE: "project"}):
            bot_attrs = {**base, sc.BOT_NAME: "a", sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT}
            with tracer.start_as_current_span("invoke_agent a", attributes=bot_attrs) as bot:
                link = Link(bot.get_span_context(), {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF})
                for step in range(3):
                    attrs = {**base, sc.BOT_NAME: "a", sc.GEN_AI_OPERATION_NAME: "execute_tool", "tool.name": "poll"}
                    with tracer.start_as_current_span("poll", attributes=attrs, links=[link]) as tool:
                        entry = {sc.WORKLOG_LEVEL: "error", sc.WORKLOG_MESSAGE: f"e{step}"}
                        tool.add_event(sc.event_name("error"), entry)
    return spans


def test_private_reads_hand_out_the_sdks_own_containers(finished: list[ReadableSpan]) -> None:
    tool = next(s for s in finished if s.name == "poll")
    assert sdk_compat.attributes_of(tool) is tool._attributes._dict  # type: ignore[union-attr]
    assert sdk_compat.span_events(tool) is tool._events._dq  # type: ignore[attr-defined]
    assert sdk_compat.span_links(tool) is tool._links._dq  # type: ignore[attr-defined]
    event = tool.events[0]
    assert sdk_compat.attributes_of(event) is event._attributes._dict  # type: ignore[union-attr]
    assert sdk_compat.name_of(event) == event.name
    assert sdk_compat.span_context(tool) is tool._context
    assert sdk_compat.parent_context(tool) is tool._parent
    name, attributes, context, parent, events = sdk_compat.ended_span(tool)
    assert (name, context, parent) == (tool.name, tool.context, tool.parent)
    assert attributes is tool._attributes._dict and events is tool._events._dq  # type: ignore[union-attr, attr-defined]
    name, attributes, events, links, description = sdk_compat.exported_span(tool)
    assert (name, description) == (tool.name, tool.status.description)
    assert attributes is tool._attributes._dict and events is tool._events._dq  # type: ignore[union-attr, attr-defined]
    assert links is tool._links._dq  # type: ignore[attr-defined]


@pytest.mark.parametrize("make", [_public_only, _odd_types], ids=["public API only", "other private types"])
def test_fallbacks_give_what_the_public_api_gives(finished: list[ReadableSpan], make: Any) -> None:
    for span in finished:
        other = make(span)
        assert sdk_compat.attributes_of(other) == dict(span.attributes or {})
        assert sdk_compat.name_of(other) == span.name
        assert sdk_compat.span_context(other) == span.context
        assert sdk_compat.parent_context(other) == span.parent
        assert [sdk_compat.name_of(e) for e in sdk_compat.span_events(other)] == [e.name for e in span.events]
        assert [sdk_compat.attributes_of(e) for e in sdk_compat.span_events(other)] == [
            dict(e.attributes or {}) for e in span.events
        ]
        assert [li.context for li in sdk_compat.span_links(other)] == [li.context for li in span.links]
        name, attributes, context, parent, events = sdk_compat.ended_span(other)
        assert (name, context, parent) == (span.name, span.context, span.parent)
        assert attributes == dict(span.attributes or {})
        assert len(events) == len(span.events)
        ((same, *parts),) = sdk_compat.ended_spans([other])
        assert same is other and parts[:4] == [name, attributes, context, parent]
        name, attributes, events, links, description = sdk_compat.exported_span(other)
        assert (name, attributes, description) == (span.name, dict(span.attributes or {}), span.status.description)
        assert [sdk_compat.name_of(e) for e in events] == [e.name for e in span.events]
        assert [li.context for li in links] == [li.context for li in span.links]


def test_a_starting_span_is_read_in_one_call_as_the_public_api_reads_it(finished: list[ReadableSpan]) -> None:
    for span in finished:
        name, attributes, scope_name = sdk_compat.started_span(span)
        assert attributes is span._attributes._dict  # type: ignore[union-attr]  # the SDK's own, no copy
        assert (name, scope_name) == (span.name, span.instrumentation_scope.name)  # type: ignore[union-attr]
        for other in (_public_only(span), _odd_types(span)):
            assert sdk_compat.started_span(other) == (span.name, dict(span.attributes or {}), scope_name)
    without_scope = copy.copy(finished[0])
    without_scope._instrumentation_scope = None
    assert sdk_compat.started_span(without_scope)[2] is None


def test_a_private_field_of_another_type_is_not_trusted() -> None:
    class Odd:
        _attributes = "not a mapping"
        _name = 42
        attributes = MappingProxyType({"k": "v"})
        name = "public"

    assert sdk_compat.attributes_of(Odd()) == {"k": "v"}
    assert sdk_compat.name_of(Odd()) == "public"


def test_a_span_class_is_trusted_by_its_first_span_and_a_later_odd_one_still_falls_back(
    finished: list[ReadableSpan],
) -> None:
    """Types are checked once per class; a later span of that class missing a field takes the public API."""
    span = finished[0]
    assert type(span) in sdk_compat._TRUSTED_SPAN_TYPES or sdk_compat.ended_span(span)[0] == span.name
    assert type(span) in sdk_compat._TRUSTED_SPAN_TYPES
    odd = copy.copy(span)
    odd._events = tuple(span.events)  # no BoundedList: no ``_dq`` to read
    name, attributes, context, parent, events = sdk_compat.ended_span(odd)
    assert (name, attributes, context, parent) == (span.name, dict(span.attributes or {}), span.context, span.parent)
    assert list(events) == list(span.events)
    (_, *trusted), (_, *fallen_back) = sdk_compat.ended_spans([span, odd])
    assert trusted[1] is span._attributes._dict  # type: ignore[union-attr]  # read inline: the class is trusted
    assert fallen_back[:4] == [span.name, dict(span.attributes or {}), span.context, span.parent]
    assert list(fallen_back[4]) == list(span.events)
    assert sdk_compat.exported_span(span)[1] is span._attributes._dict  # type: ignore[union-attr]
    assert type(span) in sdk_compat._TRUSTED_EXPORT_TYPES
    name, attributes, events, links, description = sdk_compat.exported_span(odd)
    assert (name, attributes, list(events)) == (span.name, dict(span.attributes or {}), list(span.events))
    assert [li.context for li in links] == [li.context for li in span.links]
    assert description == span.status.description


@pytest.fixture
def alerts() -> Iterator[list[Alert]]:
    fired: list[Alert] = []
    on_alert(fired.append)
    yield fired
    clear_alert_callbacks()


def _detector_alerts(spans: Sequence[Any], fired: list[Alert]) -> list[tuple[str, str | None]]:
    config = resolve_config({"tool_loop": {"threshold": 3}, "error_loop": {"threshold": 3}})
    assert config is not None
    detector = DetectorProcessor(config, TracerProvider(), clock=lambda: 100.0, watchdog=False)
    fired.clear()
    detector.examine_ended(spans)
    detector.shutdown()
    return sorted((a.kind, a.bot) for a in fired)


@pytest.mark.parametrize("make", [_public_only, _odd_types], ids=["public API only", "other private types"])
def test_detectors_see_the_same_through_the_fallbacks(
    finished: list[ReadableSpan], alerts: list[Alert], make: Any
) -> None:
    expected = _detector_alerts(finished, alerts)
    assert expected == [("error_loop", "a"), ("tool_loop", "a")]  # three failing polls of an OpenInference tool
    assert _detector_alerts([make(s) for s in finished], alerts) == expected


def _stored(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT s.name, s.attributes, s.parent_span_id, t.span_count, t.error_entries,"
            " (SELECT COUNT(*) FROM events e WHERE e.span_rowid = s.id),"
            " (SELECT COUNT(*) FROM links l WHERE l.span_rowid = s.id)"
            " FROM spans s JOIN traces t ON t.trace_id = s.trace_id ORDER BY s.start_ns"
        ).fetchall()


@pytest.mark.parametrize("make", [_public_only, _odd_types], ids=["public API only", "other private types"])
def test_the_store_writes_the_same_rows_through_the_fallbacks(
    finished: list[ReadableSpan], tmp_path: Path, make: Any
) -> None:
    StoreSpanExporter(tmp_path / "sdk.db").export(finished)
    StoreSpanExporter(tmp_path / "fallback.db").export([make(s) for s in finished])
    expected = _stored(tmp_path / "sdk.db")
    assert len(expected) == 5 and expected[0][4] == 3  # 5 spans; 3 error entries in the session summary
    assert _stored(tmp_path / "fallback.db") == expected
    with StoreReader(tmp_path / "fallback.db") as reader:
        (session,) = reader.sessions()
        assert session.status == "error"  # error entries: the same status as from the SDK's own spans


def test_exports_run_with_instrumentation_suppressed(monkeypatch: pytest.MonkeyPatch) -> None:
    key = sdk_compat.SUPPRESS_INSTRUMENTATION_KEY
    assert key is not None  # every tested API release has it
    token = otel_context.attach(sdk_compat.suppressed_context())
    try:
        assert otel_context.get_value(key) is True
    finally:
        otel_context.detach(token)
    # Without the key (an API that dropped it), the export runs in the current context, unsuppressed.
    monkeypatch.setattr(sdk_compat, "SUPPRESS_INSTRUMENTATION_KEY", None)
    current = otel_context.get_current()
    assert sdk_compat.suppressed_context() is current
    assert trace.get_current_span(sdk_compat.suppressed_context()) is trace.get_current_span(current)
