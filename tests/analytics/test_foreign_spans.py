"""Spans other instrumentations record inside a bot count as what they are, in every view.

An OpenInference or OpenLLMetry tool span is a tool call in ``explain`` and in the analytics; a model
call (GenAI ``chat``, OpenInference ``LLM``) is not; a framework's ``transfer_to_<agent>`` tool is a
handoff. The spans are made with the real SDK, with the attributes each instrumentation sets (see
/work/shared/reference/frameworks.md), inside otel_worklog's own workspace and bot.
"""

from __future__ import annotations

from pathlib import Path

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.readers import StoreReader
from otel_worklog._internal.query.summary import summarize_trace
from otel_worklog._internal.query.worklog import build_worklog


def _record(store: Path) -> str:
    provider = wl.configure(service_name="foreign", store=str(store))
    tracer = provider.get_tracer("some.instrumentation")
    try:
        with wl.workspace("#foreign", type="project") as ws, wl.bot("planner"):
            with tracer.start_as_current_span(
                "search_docs", attributes={"openinference.span.kind": "TOOL", "tool.name": "search_docs"}
            ):
                pass
            with tracer.start_as_current_span(
                "lookup.tool", attributes={"traceloop.span.kind": "tool", sc.GEN_AI_TOOL_NAME: "lookup"}
            ) as failing:
                failing.set_status(trace.Status(trace.StatusCode.ERROR, "timeout"))
            with tracer.start_as_current_span("chat gpt-4o", attributes={sc.GEN_AI_OPERATION_NAME: "chat"}):
                pass
            with tracer.start_as_current_span("ChatOpenAI", attributes={"openinference.span.kind": "LLM"}):
                pass
            handoff = {"openinference.span.kind": "TOOL", "tool.name": "transfer_to_billing"}
            with tracer.start_as_current_span("transfer_to_billing", attributes=handoff):
                pass
        return ws.trace_id
    finally:
        wl.shutdown()


def test_foreign_tools_are_tools_and_model_calls_are_not(tmp_path: Path) -> None:
    trace_id = _record(tmp_path / "w.db")
    with StoreReader(tmp_path / "w.db") as reader:
        spans = reader.trace(trace_id)
        view = build_worklog(spans)
        (session,) = reader.sessions()
        history = an.build_history(reader.iter_spans())
    assert [(t.name, t.status) for t in view.tools] == [("search_docs", "success"), ("lookup", "error")]
    assert [(h.from_bot, h.to_bot) for h in view.handoffs] == [("planner", "transfer_to_billing")]
    # The failed tool was a step the bot went on from: recovered, in every view.
    assert view.status == session.status == history.workflows[0].status == "recovered"
    (bot,) = history.sessions
    assert bot.tools == ["search_docs", "lookup"]
    assert (bot.error_spans, bot.success, bot.first_shot) == (1, True, False)


class ParentCommand(Exception):
    """What LangGraph raises through a supervisor to hand the work over: control flow, not a failure."""


def _record_copies(store: Path) -> str:
    """A tool call recorded twice (ours and a peer instrumentation's copy, both failed, both with usage), and a
    supervisor bot left by a ``ParentCommand``."""
    provider = wl.configure(service_name="copies", store=str(store))
    peer = provider.get_tracer("peer.instrumentation")
    usage: dict[str, AttributeValue] = {sc.GEN_AI_USAGE_INPUT_TOKENS: 10, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 5}
    try:
        with wl.workspace("#copies", type="project") as ws:
            with wl.bot("planner"):
                tool = {sc.GEN_AI_OPERATION_NAME: "execute_tool", sc.GEN_AI_TOOL_NAME: "lookup", **usage}
                with peer.start_as_current_span("execute_tool lookup", attributes=tool) as original:
                    copy_of = trace.format_span_id(original.get_span_context().span_id)
                    copy = {"openinference.span.kind": "TOOL", "tool.name": "lookup", **usage}
                    with peer.start_as_current_span(
                        "lookup", attributes={**copy, sc.WORKLOG_DUPLICATE_OF: copy_of}
                    ) as dup:
                        dup.record_exception(TimeoutError("lookup timed out"))
                        dup.set_status(trace.Status(trace.StatusCode.ERROR, "timeout"))
                    original.record_exception(TimeoutError("lookup timed out"))
                    original.set_status(trace.Status(trace.StatusCode.ERROR, "timeout"))
            try:
                with wl.bot("supervisor"):
                    raise ParentCommand("goto billing")
            except ParentCommand:
                pass
        return ws.trace_id
    finally:
        wl.shutdown()


def test_a_copy_counts_once_and_control_flow_is_no_failure_in_every_view(tmp_path: Path) -> None:
    trace_id = _record_copies(tmp_path / "w.db")
    with StoreReader(tmp_path / "w.db") as reader:
        spans = reader.trace(trace_id)
        (session,) = reader.sessions()
        view = build_worklog(spans)
        history = an.build_history(reader.iter_spans())
    failed = sorted(span.name for span in spans if span.status_code == "ERROR")
    assert failed == ["execute_tool lookup", "invoke_agent supervisor", "lookup"]  # as recorded
    # One failure: the tool call, once; the supervisor handed the work over, it did not fail.
    assert session.errors == 1 and session.failed_bots == 0
    assert summarize_trace(spans) == session
    assert [span.name for span in view.errors] == ["execute_tool lookup"]
    assert [t.name for t in view.tools] == ["lookup"]
    (workflow,) = history.workflows
    assert (workflow.failed_bots, workflow.failed_steps) == (0, 1)
    assert view.status == session.status == workflow.status == "recovered"
    assert [(e.error_type, e.bot) for e in history.errors] == [("TimeoutError", "planner")]
    assert (workflow.input_tokens, workflow.output_tokens) == (10, 5)
    planner, supervisor = sorted(history.sessions, key=lambda s: s.bot)
    assert (planner.tools, planner.tokens, planner.error_spans) == (["lookup"], 15, 1)
    assert supervisor.success and not supervisor.failed
