"""Spans other instrumentations record inside a bot count as what they are, in every view.

An OpenInference or OpenLLMetry tool span is a tool call in ``explain`` and in the analytics; a model
call (GenAI ``chat``, OpenInference ``LLM``) is not; a framework's ``transfer_to_<agent>`` tool is a
handoff. The spans are made with the real SDK, with the attributes each instrumentation sets (see
/work/shared/reference/frameworks.md), inside otel_worklog's own workspace and bot.
"""

from __future__ import annotations

from pathlib import Path

from opentelemetry import trace

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.readers import StoreReader
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
