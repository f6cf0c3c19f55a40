"""Which of the pipeline's processors each span start and end is handed to (processors.WorklogSpanProcessor).

A processor that looks only at agents starting (the detectors' stuck-agent watch) is handed the spans that
may be agents, whoever recorded them; one that reads only entries is handed only spans that end with events.
Spans are made with the real SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog._internal.pipeline.configure import _PROCESSORS
from otel_worklog._internal.pipeline.detectors import DetectorProcessor
from otel_worklog.testing import WorklogCapture


class Recorder(SpanProcessor):
    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: list[str] = []

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        self.started.append(span.name)

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span.name)


class AgentStarts(Recorder):
    starts_only_agents: ClassVar[bool] = True


class EntryEnds(Recorder):
    ends_only_with_events: ClassVar[bool] = True


@pytest.fixture
def recorders(worklog: WorklogCapture) -> Iterator[tuple[Recorder, AgentStarts, EntryEnds]]:
    pipeline = _PROCESSORS[worklog.provider]
    every, agents, entries = Recorder(), AgentStarts(), EntryEnds()
    before = pipeline.replace_children((*pipeline.children, every, agents, entries))
    yield every, agents, entries
    pipeline.replace_children(before)


def test_each_processor_is_handed_the_spans_it_looks_at(
    worklog: WorklogCapture, recorders: tuple[Recorder, AgentStarts, EntryEnds]
) -> None:
    every, agents, entries = recorders
    tracer = worklog.provider.get_tracer("another.instrumentation")
    with wl.workspace("#w"), wl.bot("coder"):
        wl.info("started")
        with tracer.start_as_current_span("Agent.run", attributes={"openinference.span.kind": "AGENT"}):
            pass
        with tracer.start_as_current_span("invoke_agent helper", attributes={sc.GEN_AI_OPERATION_NAME: "invoke_agent"}):
            pass
        with tracer.start_as_current_span("execute_tool search", attributes={sc.GEN_AI_OPERATION_NAME: "execute_tool"}):
            pass
        with tracer.start_as_current_span("GET /api"):
            pass
    assert every.started[:2] == ["workspace #w", "invoke_agent coder"]
    assert {"Agent.run", "invoke_agent helper", "execute_tool search", "GET /api"} <= set(every.started)
    assert agents.started == ["invoke_agent coder", "Agent.run", "invoke_agent helper"]
    assert sorted(every.ended) == sorted(every.started)
    # Those with entries: the bot, and the handoffs to the other instrumentation's agents it started.
    with_entries = sorted(span.name for span in worklog.spans() if span.events)
    assert sorted(entries.ended) == with_entries
    assert with_entries == ["handoff coder -> Agent.run", "handoff coder -> helper", "invoke_agent coder"]


def test_a_stuck_agent_of_another_instrumentation_is_found_through_the_pipeline(worklog: WorklogCapture) -> None:
    worklog.configure(detectors={"stuck_agent": {"threshold_s": 300, "interval_s": 3600}})
    (detector,) = [c for c in _PROCESSORS[worklog.provider].children if isinstance(c, DetectorProcessor)]
    now = [1000.0]
    detector._clock = lambda: now[0]  # the watchdog thread waits an hour: this test ticks by hand
    tracer = worklog.provider.get_tracer("another.instrumentation")
    attributes = {"openinference.span.kind": "AGENT", "agent.name": "planner", sc.WORKSPACE_ID: "#w"}
    with tracer.start_as_current_span("Agent.run", attributes=attributes):
        assert detector.open_bot_count() == 1
        now[0] += 301
        alerts = detector.tick()
    assert [(alert.kind, alert.bot) for alert in alerts] == [("stuck_agent", "planner")]
    detector.drain()  # the ended span waits for a batch of them
    assert detector.open_bot_count() == 0
