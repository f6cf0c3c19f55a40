"""Agent and tool spans other instrumentations record count once, inside a bot or outside any.

Two instrumentations recording one tool call (a framework's own span and OpenInference's, or one
instrumentor applied twice) nest two spans of the same tool: the inner one is marked
``worklog.duplicate_of`` the outer, so every view counts the call once. Spans are made with the real SDK.
"""

from __future__ import annotations

from opentelemetry import trace

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog.testing import WorklogCapture

_TOOL = {sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "web_search"}
_OPENINFERENCE_TOOL = {"openinference.span.kind": "TOOL", "tool.name": "web_search"}


def _copies(worklog: WorklogCapture) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for span in worklog.spans():
        copy_of = (span.attributes or {}).get(sc.WORKLOG_DUPLICATE_OF)
        found[span.name] = copy_of if isinstance(copy_of, str) else None
    return found


def _span_id(span: trace.Span) -> str:
    return trace.format_span_id(span.get_span_context().span_id)


def test_a_tool_recorded_twice_outside_any_bot_counts_once(worklog: WorklogCapture) -> None:
    framework = worklog.provider.get_tracer("some.framework")
    openinference = worklog.provider.get_tracer("openinference.instrumentation.some")
    with framework.start_as_current_span("execute_tool web_search", attributes=_TOOL) as outer:
        with openinference.start_as_current_span("web_search", attributes=_OPENINFERENCE_TOOL) as inner:
            with openinference.start_as_current_span("web_search again", attributes=_OPENINFERENCE_TOOL):
                pass
    assert _copies(worklog) == {
        "execute_tool web_search": None,
        "web_search": _span_id(outer),
        "web_search again": _span_id(inner),
    }


def test_a_tool_recorded_twice_inside_a_bot_counts_once(worklog: WorklogCapture) -> None:
    framework = worklog.provider.get_tracer("some.framework")
    with wl.bot("researcher"):
        with framework.start_as_current_span("execute_tool web_search", attributes=_TOOL) as outer:
            with framework.start_as_current_span("web_search", attributes=_OPENINFERENCE_TOOL):
                pass
    copies = _copies(worklog)
    assert copies["web_search"] == _span_id(outer)
    assert copies["execute_tool web_search"] is None
    assert worklog.span("web_search").attributes[sc.BOT_NAME] == "researcher"  # type: ignore[index]


def test_different_tools_and_spans_under_a_tool_are_no_copies(worklog: WorklogCapture) -> None:
    framework = worklog.provider.get_tracer("some.framework")
    http = worklog.provider.get_tracer("opentelemetry.instrumentation.requests")
    with framework.start_as_current_span("execute_tool web_search", attributes=_TOOL):
        with http.start_as_current_span("GET"):
            with framework.start_as_current_span(
                "execute_tool fetch_page", attributes={**_TOOL, sc.GEN_AI_TOOL_NAME: "fetch_page"}
            ):
                pass
        with framework.start_as_current_span(
            "execute_tool summarize", attributes={**_TOOL, sc.GEN_AI_TOOL_NAME: "summarize"}
        ):
            pass
    assert set(_copies(worklog).values()) == {None}


def test_a_copy_in_another_context_of_the_same_parent_is_found(worklog: WorklogCapture) -> None:
    """A child started with an explicit parent context (as callback-based instrumentations do)."""
    framework = worklog.provider.get_tracer("some.framework")
    peer = worklog.provider.get_tracer("openinference.instrumentation.some")
    outer = framework.start_span("execute_tool web_search", attributes=_TOOL)
    inner = peer.start_span("web_search", context=trace.set_span_in_context(outer), attributes=_OPENINFERENCE_TOOL)
    inner.end()
    outer.end()
    assert _copies(worklog)["web_search"] == _span_id(outer)


def test_a_foreign_agent_outside_any_bot_is_adopted_and_its_tools_are_its_own(worklog: WorklogCapture) -> None:
    framework = worklog.provider.get_tracer("some.framework")
    agent = {sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: "triage"}
    with framework.start_as_current_span("invoke_agent triage", attributes=agent):
        with framework.start_as_current_span("execute_tool web_search", attributes=_TOOL):
            with framework.start_as_current_span("web_search", attributes=_OPENINFERENCE_TOOL):
                pass
    bots = {span.name: (span.attributes or {}).get(sc.BOT_NAME) for span in worklog.spans()}
    assert bots == {"invoke_agent triage": "triage", "execute_tool web_search": "triage", "web_search": "triage"}
    assert _copies(worklog)["web_search"] is not None
