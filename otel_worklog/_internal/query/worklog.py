"""A trace read back as a work log: entries, tool calls, handoffs and escalations in order.

This is the one interpretation of the span data that every renderer shares:
the terminal timeline (``explain``), the HTML waterfall, ``format_response`` and
``to_agent_artifact``. It relies only on the names in ``semconv``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.query.steps import SessionSteps
from otel_worklog._internal.query.summary import summarize_trace

__all__ = ["Entry", "EscalationItem", "HandoffItem", "ToolCall", "WorkLogView", "build_worklog", "parse_json_value"]

_EXCEPTION_EVENT = "exception"


def parse_json_value(value: Any) -> Any:
    """Tool arguments and results are JSON strings on spans; give back the structure when it parses."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _strs(value: Any) -> tuple[str, ...]:
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    if isinstance(value, str) and value:
        return (value,)
    return ()


@dataclass(frozen=True, slots=True)
class Entry:
    step: int | None
    level: str
    category: str
    message: str
    confidence: float | None
    bot: str | None
    span_id: str
    span_name: str
    time_ns: int
    name: str
    mentions: tuple[str, ...] = ()
    response_to: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    low_confidence: bool = False
    flagged_from: str | None = None
    insight: bool = False
    shareable: bool = False

    @property
    def is_message(self) -> bool:
        return self.category == sc.CATEGORY_BOT_CONVERSATION


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    bot: str | None
    status: str
    start_ns: int
    duration_ms: float
    arguments: Any
    result: Any
    error_type: str | None
    error_message: str | None
    span_id: str


@dataclass(frozen=True, slots=True)
class HandoffItem:
    from_bot: str
    to_bot: str
    artifacts: tuple[str, ...]
    reason: str | None
    time_ns: int
    span_id: str
    #: (bot, span id) of each receiving span that links back to this handoff.
    receivers: tuple[tuple[str | None, str], ...] = ()
    step: int | None = None


@dataclass(frozen=True, slots=True)
class EscalationItem:
    reason: str
    target: str | None
    bot: str | None
    time_ns: int
    span_id: str
    trace_id: str
    workspace_id: str | None
    resolution: str | None = None


@dataclass(slots=True)
class WorkLogView:
    trace_id: str
    workspace_id: str | None
    workspace_type: str | None
    query: str | None
    participants: tuple[str, ...]
    coordinator: str | None
    bots: tuple[str, ...]
    start_ns: int
    end_ns: int
    spans: list[SpanRecord]
    entries: list[Entry]
    tools: list[ToolCall]
    handoffs: list[HandoffItem]
    escalations: list[EscalationItem]
    errors: list[SpanRecord]

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6

    @property
    def status(self) -> str:
        if self.escalations:
            return "escalated"
        if self.errors or any(e.level == "error" for e in self.entries):
            return "error"
        return "ok"

    @property
    def decisions(self) -> list[Entry]:
        return [e for e in self.entries if e.level == "decision" or e.flagged_from == "decision"]

    @property
    def low_confidence(self) -> list[Entry]:
        threshold = 0.7
        return [e for e in self.entries if e.low_confidence or (e.confidence is not None and e.confidence < threshold)]


def _entry(span: SpanRecord, name: str, time_ns: int, attrs: dict[str, Any]) -> Entry | None:
    level = attrs.get(sc.WORKLOG_LEVEL)
    is_insight = name == sc.EVENT_INSIGHT
    if not isinstance(level, str) and not is_insight:
        return None
    message = attrs.get(sc.WORKLOG_MESSAGE)
    step = attrs.get(sc.WORKLOG_STEP)
    response_to = attrs.get(sc.WORKLOG_RESPONSE_TO)
    details = {
        key[len(sc.WORKLOG_DETAILS_PREFIX) :]: value
        for key, value in attrs.items()
        if key.startswith(sc.WORKLOG_DETAILS_PREFIX)
    }
    category = attrs.get(sc.WORKLOG_CATEGORY)
    if is_insight and not isinstance(category, str):
        category = attrs.get(sc.WORKLOG_INSIGHT_CATEGORY, sc.CATEGORY_INSIGHT)
    flagged = attrs.get(sc.WORKLOG_FLAGGED_FROM)
    return Entry(
        step=step if isinstance(step, int) and not isinstance(step, bool) else None,
        level=level if isinstance(level, str) else "info",
        category=str(category) if category is not None else sc.CATEGORY_GENERAL,
        message=str(message) if message is not None else "",
        confidence=_num(attrs.get(sc.WORKLOG_CONFIDENCE)),
        bot=span.bot_name,
        span_id=span.span_id,
        span_name=span.name,
        time_ns=time_ns,
        name=name,
        mentions=_strs(attrs.get(sc.WORKLOG_MENTIONS)),
        response_to=response_to if isinstance(response_to, int) and not isinstance(response_to, bool) else None,
        details=details,
        low_confidence=attrs.get(sc.WORKLOG_LOW_CONFIDENCE) is True,
        flagged_from=flagged if isinstance(flagged, str) else None,
        insight=is_insight,
        shareable=attrs.get(sc.WORKLOG_INSIGHT_SHAREABLE) is True,
    )


def build_worklog(spans: Sequence[SpanRecord], *, bot: str | None = None) -> WorkLogView:
    """The work log of one trace; ``bot`` keeps only that bot's entries, tools, handoffs and escalations."""
    ordered = sorted(spans, key=lambda s: (s.start_ns, s.span_id))
    summary = summarize_trace(ordered)
    if summary is None:
        raise ValueError("a work log needs at least one span")
    root = next((s for s in ordered if s.parent_span_id is None), ordered[0])
    participants = _strs(root.attributes.get(sc.WORKSPACE_PARTICIPANTS))
    coordinator = root.attributes.get(sc.WORKSPACE_COORDINATOR)
    entries: list[Entry] = []
    tools: list[ToolCall] = []
    handoffs: dict[str, HandoffItem] = {}
    escalations: list[EscalationItem] = []
    resolutions: dict[str, str] = {}
    errors: list[SpanRecord] = []
    receivers: dict[str, list[tuple[str | None, str]]] = {}
    for span in ordered:
        for link in span.links:
            if link.attributes.get(sc.WORKLOG_LINK_TYPE) == sc.LINK_TYPE_HANDOFF:
                receivers.setdefault(link.span_id, []).append((span.bot_name, span.span_id))
        for event in span.events:
            if event.name == sc.EVENT_ESCALATION_RESOLVED:
                target = event.attributes.get(sc.WORKLOG_ESCALATION_SPAN_ID)
                resolution = event.attributes.get(sc.WORKLOG_ESCALATION_RESOLUTION)
                if isinstance(target, str):
                    resolutions[target] = str(resolution) if resolution is not None else ""
    for span in ordered:
        keep = bot is None or span.bot_name == bot
        if span.is_error and keep:
            errors.append(span)
        if keep:
            for event in span.events:
                entry = _entry(span, event.name, event.time_ns, dict(event.attributes))
                if entry is not None:
                    entries.append(entry)
        attrs = span.attributes
        if attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OPERATION_EXECUTE_TOOL and keep:
            exc = next((e for e in span.events if e.name == _EXCEPTION_EVENT), None)
            status = attrs.get(sc.WORKLOG_TOOL_STATUS)
            tools.append(
                ToolCall(
                    name=str(attrs.get(sc.GEN_AI_TOOL_NAME, span.name)),
                    bot=span.bot_name,
                    status=str(status) if status else ("error" if span.is_error else "success"),
                    start_ns=span.start_ns,
                    duration_ms=span.duration_ms,
                    arguments=parse_json_value(attrs.get(sc.GEN_AI_TOOL_CALL_ARGUMENTS)),
                    result=parse_json_value(attrs.get(sc.GEN_AI_TOOL_CALL_RESULT)),
                    error_type=str(attrs[sc.ERROR_TYPE]) if sc.ERROR_TYPE in attrs else None,
                    error_message=(
                        str(exc.attributes.get("exception.message", "")) if exc else span.status_message or None
                    ),
                    span_id=span.span_id,
                )
            )
        if sc.WORKLOG_HANDOFF_TO in attrs:
            from_bot = str(attrs.get(sc.WORKLOG_HANDOFF_FROM, span.bot_name or "?"))
            to_bot = str(attrs.get(sc.WORKLOG_HANDOFF_TO))
            if bot is None or bot in (from_bot, to_bot):
                reason = attrs.get(sc.WORKLOG_HANDOFF_REASON)
                step = attrs.get(sc.WORKLOG_STEP)
                handoffs[span.span_id] = HandoffItem(
                    step=step if isinstance(step, int) and not isinstance(step, bool) else None,
                    from_bot=from_bot,
                    to_bot=to_bot,
                    artifacts=_strs(attrs.get(sc.WORKLOG_HANDOFF_ARTIFACTS)),
                    reason=str(reason) if reason is not None else None,
                    time_ns=span.start_ns,
                    span_id=span.span_id,
                    receivers=tuple(receivers.get(span.span_id, ())),
                )
        if span.is_escalation and keep:
            target = attrs.get(sc.WORKLOG_ESCALATION_TARGET)
            escalations.append(
                EscalationItem(
                    reason=str(attrs.get(sc.WORKLOG_ESCALATION_REASON, "")),
                    target=str(target) if target is not None else None,
                    bot=span.bot_name,
                    time_ns=span.start_ns,
                    span_id=span.span_id,
                    trace_id=span.trace_id,
                    workspace_id=span.workspace_id,
                    resolution=resolutions.get(span.span_id),
                )
            )
    entries.sort(key=lambda e: (e.time_ns, e.step if e.step is not None else 0))
    steps = SessionSteps(ordered)  # one number per step of the session, across processes
    entries = steps.renumber(entries)
    for item in handoffs.values():
        handoffs[item.span_id] = replace(item, step=steps.handoff_step(item.span_id, item.step))
    return WorkLogView(
        trace_id=summary.trace_id,
        workspace_id=summary.workspace_id,
        workspace_type=summary.workspace_type,
        query=summary.query,
        participants=participants,
        coordinator=str(coordinator) if isinstance(coordinator, str) else None,
        bots=summary.bots,
        start_ns=summary.start_ns,
        end_ns=summary.end_ns,
        spans=ordered,
        entries=entries,
        tools=tools,
        handoffs=sorted(handoffs.values(), key=lambda h: h.time_ns),
        escalations=escalations,
        errors=errors,
    )
