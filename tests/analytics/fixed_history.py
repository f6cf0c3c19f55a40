"""A small fixed history, as SpanRecords with exact times, whose figures are worked out by hand.

Times are seconds after T0 (2026-01-05 00:00:00 UTC).

A  #project-api  0-120  ok, estimate 100 s   nanobot -> researcher -> coder
   handoffs 18-20 and 58-60 (4 s), waits 25-20 and 62-60 (7 s), a message at 50 after a tool ending at 45 (5 s):
   coordination 16 s; tools search 10 + read_file 5 + write_file 20 + run_tests 15 (failed, caught) = 50 s
B  #project-web  1000-1100  ERROR (FileNotFoundError escaping tool -> coder -> workspace)   nanobot -> coder
   handoff 2 s + wait 2 s = 4 s; tools write_file 40 + read_file 4.8 = 44.8 s
C  #project-api  2000-2200  unresolved escalation, estimate 250 s   nanobot -> researcher
   handoff 2 s + wait 0 + the coordination entry at 2060 after a tool ending at 2050 (10 s) = 12 s; tools 30 s
D  #project-web  3000-3050  ok (its escalation is resolved)   nanobot -> coder
   handoff 1 s + wait 0 + the resolution at 3040 after a tool ending at 3028 (12 s) = 13 s; tools 20 + 2 = 22 s
"""

from __future__ import annotations

from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import EventRecord, SpanRecord

T0 = 1_767_571_200


def ns(seconds: float) -> int:
    return round((T0 + seconds) * 1_000_000_000)


def _span(
    trace: str,
    span_id: str,
    parent: str | None,
    name: str,
    start: float,
    end: float,
    attrs: dict[str, Any],
    *,
    error: bool = False,
    events: tuple[EventRecord, ...] = (),
) -> SpanRecord:
    return SpanRecord(
        trace_id=trace * 32,
        span_id=span_id.ljust(16, "0"),
        parent_span_id=parent.ljust(16, "0") if parent is not None else None,
        name=name,
        kind="INTERNAL",
        start_ns=ns(start),
        end_ns=ns(end),
        status_code="ERROR" if error else "UNSET",
        attributes=attrs,
        events=events,
        scope=sc.INSTRUMENTATION_SCOPE,
    )


ROLES = {"nanobot": "coordinator", "researcher": "research", "coder": "backend developer"}


def _bot(trace: str, sid: str, parent: str, name: str, start: float, end: float, ws: str, **kw: Any) -> SpanRecord:
    attrs = {
        sc.WORKSPACE_ID: ws,
        sc.BOT_NAME: name,
        sc.BOT_ROLE: ROLES[name],
        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
        sc.GEN_AI_AGENT_NAME: name,
    }
    return _span(trace, sid, parent, f"invoke_agent {name}", start, end, attrs, **kw)


def _tool(
    trace: str, sid: str, parent: str, tool: str, start: float, end: float, ws: str, bot: str, **kw: Any
) -> SpanRecord:
    attrs: dict[str, Any] = {
        sc.WORKSPACE_ID: ws,
        sc.BOT_NAME: bot,
        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: tool,
        sc.WORKLOG_TOOL_STATUS: "error" if kw.get("error") else "success",
        **kw.pop("usage", {}),
    }
    return _span(trace, sid, parent, f"execute_tool {tool}", start, end, attrs, **kw)


def _handoff(trace: str, sid: str, parent: str, frm: str, to: str, start: float, end: float, ws: str) -> SpanRecord:
    attrs = {sc.WORKSPACE_ID: ws, sc.BOT_NAME: frm, sc.WORKLOG_HANDOFF_FROM: frm, sc.WORKLOG_HANDOFF_TO: to}
    return _span(trace, sid, parent, f"handoff {frm} -> {to}", start, end, attrs)


def _root(trace: str, ws: str, start: float, end: float, query: str, estimate: float | None, **kw: Any) -> SpanRecord:
    attrs: dict[str, Any] = {
        sc.WORKSPACE_ID: ws,
        sc.WORKSPACE_TYPE: "project",
        sc.WORKLOG_QUERY: query,
        sc.WORKSPACE_PARTICIPANTS: ("nanobot", "researcher", "coder"),
    }
    if estimate is not None:
        attrs[sc.WORKSPACE_ESTIMATED_DURATION_S] = estimate
    return _span(trace, "0", None, f"workspace {ws}", start, end, attrs, **kw)


def _entry(level: str, at: float, message: str, **extra: Any) -> EventRecord:
    attrs = {sc.WORKLOG_LEVEL: level, sc.WORKLOG_MESSAGE: message, sc.WORKLOG_CATEGORY: "general", **extra}
    return EventRecord(sc.event_name(level), ns(at), attrs)


def _exception(at: float, kind: str, message: str) -> EventRecord:
    return EventRecord("exception", ns(at), {"exception.type": kind, "exception.message": message})


def fixed_history() -> list[SpanRecord]:
    a, b, c, d = "a", "b", "c", "d"
    api, web = "#project-api", "#project-web"
    usage_a = {sc.GEN_AI_USAGE_INPUT_TOKENS: 1000, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 500, sc.WORKLOG_COST: 0.05}
    usage_b = {sc.GEN_AI_USAGE_INPUT_TOKENS: 3000, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 1000, sc.WORKLOG_COST: 0.2}
    missing = "no such file /srv/a/1.css"
    return [
        # --- A
        _root(a, api, 0, 120, "Build REST API endpoints", 100),
        _bot(a, "a1", "0", "nanobot", 0, 20, api, events=(_entry("decision", 5, "Research first"),)),
        _handoff(a, "a2", "a1", "nanobot", "researcher", 18, 20, api),
        _bot(
            a,
            "a3",
            "a2",
            "researcher",
            25,
            60,
            api,
            events=(_entry("info", 50, "Found the spec", **{sc.WORKLOG_CATEGORY: sc.CATEGORY_BOT_CONVERSATION}),),
        ),
        _tool(a, "a4", "a3", "search", 30, 40, api, "researcher"),
        _tool(a, "a5", "a3", "read_file", 40, 45, api, "researcher"),
        _handoff(a, "a6", "a3", "researcher", "coder", 58, 60, api),
        _bot(a, "a7", "a6", "coder", 62, 118, api, events=(_entry("correction", 101, "Fixing the test"),)),
        _tool(a, "a8", "a7", "write_file", 65, 85, api, "coder"),
        _tool(
            a,
            "a9",
            "a7",
            "run_tests",
            85,
            100,
            api,
            "coder",
            error=True,
            events=(_exception(100, "AssertionError", "test 1 failed"),),
            usage=usage_a,
        ),
        # --- B
        _root(
            b,
            web,
            1000,
            1100,
            "Fix CSS layout bug",
            None,
            error=True,
            events=(_exception(1095.0, "FileNotFoundError", missing),),
        ),
        _bot(b, "b1", "0", "nanobot", 1000, 1010, web),
        _handoff(b, "b2", "b1", "nanobot", "coder", 1008, 1010, web),
        _bot(
            b,
            "b3",
            "b2",
            "coder",
            1012,
            1095,
            web,
            error=True,
            events=(_exception(1094.9, "FileNotFoundError", missing),),
        ),
        _tool(b, "b5", "b3", "write_file", 1020, 1060, web, "coder", usage=usage_b),
        _tool(
            b,
            "b4",
            "b3",
            "read_file",
            1090,
            1094.8,
            web,
            "coder",
            error=True,
            events=(_exception(1094.8, "FileNotFoundError", missing),),
        ),
        # --- C
        _root(c, api, 2000, 2200, "Add API authentication", 250),
        _bot(c, "c1", "0", "nanobot", 2000, 2010, api),
        _handoff(c, "c2", "c1", "nanobot", "researcher", 2008, 2010, api),
        _bot(
            c,
            "c3",
            "c2",
            "researcher",
            2010,
            2190,
            api,
            events=(
                _entry("coordination", 2060, "Escalating: need credentials", **{sc.WORKLOG_CATEGORY: "escalation"}),
            ),
        ),
        _tool(c, "c4", "c3", "search", 2020, 2050, api, "researcher"),
        _span(
            c,
            "c5",
            "c3",
            sc.ESCALATION_SPAN_NAME,
            2060,
            2060,
            {
                sc.WORKSPACE_ID: api,
                sc.BOT_NAME: "researcher",
                sc.WORKLOG_ESCALATION: True,
                sc.WORKLOG_ESCALATION_REASON: "need credentials",
            },
        ),
        # --- D
        _root(d, web, 3000, 3050, "Fix CSS bug in header", None),
        _bot(d, "d4", "0", "nanobot", 3000, 3002, web),
        _handoff(d, "d5", "d4", "nanobot", "coder", 3001, 3002, web),
        _bot(
            d,
            "d1",
            "d5",
            "coder",
            3002,
            3050,
            web,
            events=(
                EventRecord(
                    sc.EVENT_ESCALATION_RESOLVED,
                    ns(3040),
                    {sc.WORKLOG_ESCALATION_SPAN_ID: "d3".ljust(16, "0"), sc.WORKLOG_ESCALATION_RESOLUTION: "approved"},
                ),
            ),
        ),
        _tool(d, "d2", "d1", "write_file", 3005, 3025, web, "coder"),
        _tool(
            d,
            "d6",
            "d1",
            "run_tests",
            3026,
            3028,
            web,
            "coder",
            error=True,
            events=(_exception(3028, "AssertionError", "test 22 failed"),),
        ),
        _span(
            d,
            "d3",
            "d1",
            sc.ESCALATION_SPAN_NAME,
            3030,
            3030,
            {
                sc.WORKSPACE_ID: web,
                sc.BOT_NAME: "coder",
                sc.WORKLOG_ESCALATION: True,
                sc.WORKLOG_ESCALATION_REASON: "needs approval",
            },
        ),
    ]
