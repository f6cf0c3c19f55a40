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
from otel_worklog._internal.settings import CONFIDENCE_THRESHOLD, resolve
from otel_worklog._internal.span_kinds import ESCALATION, HANDOFF, TOOL, tool_name
from otel_worklog._internal.status import ERROR_ENTRY_EVENT, FAILING_KINDS, Outcome, status_of

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
    def outcome(self) -> Outcome:
        """What happened in the work shown (one bot's part of it when the view is filtered to a bot)."""
        failed_bots = sum(1 for span in self.errors if span.part in FAILING_KINDS)
        return Outcome(
            escalations=len(self.escalations),
            resolved_escalations=sum(1 for item in self.escalations if item.resolution is not None),
            failed_bots=failed_bots,
            error_entries=sum(1 for e in self.entries if e.name == ERROR_ENTRY_EVENT),
            failed_steps=len(self.errors) - failed_bots,
        )

    @property
    def status(self) -> str:
        """The status by the one rule that ``logs``, the HTML view and the analytics use too."""
        return status_of(self.outcome)

    @property
    def decisions(self) -> list[Entry]:
        return [e for e in self.entries if e.level == "decision" or e.flagged_from == "decision"]

    @property
    def low_confidence(self) -> list[Entry]:
        """Entries flagged low-confidence, or with a confidence under ``OTEL_WORKLOG_CONFIDENCE_THRESHOLD``."""
        threshold = resolve(CONFIDENCE_THRESHOLD)
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
    coordinator = root.attributes.get(sc.WORKSPACE_COORDINATOR)
    parts = _Parts(bot, *_cross_references(ordered))
    for span in ordered:
        parts.add(span)
    parts.entries.sort(key=lambda e: (e.time_ns, e.step if e.step is not None else 0))
    steps = SessionSteps(ordered)  # one number per step of the session, across processes
    handoffs = [replace(item, step=steps.handoff_step(item.span_id, item.step)) for item in parts.handoffs.values()]
    return WorkLogView(
        trace_id=summary.trace_id,
        workspace_id=summary.workspace_id,
        workspace_type=summary.workspace_type,
        query=summary.query,
        participants=_strs(root.attributes.get(sc.WORKSPACE_PARTICIPANTS)),
        coordinator=str(coordinator) if isinstance(coordinator, str) else None,
        bots=summary.bots,
        start_ns=summary.start_ns,
        end_ns=summary.end_ns,
        spans=ordered,
        entries=steps.renumber(parts.entries),
        tools=parts.tools,
        handoffs=sorted(handoffs, key=lambda h: h.time_ns),
        escalations=parts.escalations,
        errors=parts.errors,
    )


def _cross_references(
    spans: Sequence[SpanRecord],
) -> tuple[dict[str, list[tuple[str | None, str]]], dict[str, str]]:
    """What points across spans: the receivers of each handoff (by its span id), and each escalation's resolution."""
    receivers: dict[str, list[tuple[str | None, str]]] = {}
    resolutions: dict[str, str] = {}
    for span in spans:
        for link in span.links:
            if link.attributes.get(sc.WORKLOG_LINK_TYPE) == sc.LINK_TYPE_HANDOFF:
                receivers.setdefault(link.span_id, []).append((span.bot_name, span.span_id))
        for event in span.events:
            if event.name == sc.EVENT_ESCALATION_RESOLVED:
                target = event.attributes.get(sc.WORKLOG_ESCALATION_SPAN_ID)
                resolution = event.attributes.get(sc.WORKLOG_ESCALATION_RESOLUTION)
                if isinstance(target, str):
                    resolutions[target.lower()] = str(resolution) if resolution is not None else ""
    return receivers, resolutions


class _Parts:
    """The parts of a work log, gathered span by span (each span is classified once, by span_kinds)."""

    def __init__(
        self, bot: str | None, receivers: dict[str, list[tuple[str | None, str]]], resolutions: dict[str, str]
    ) -> None:
        self.bot = bot
        self.receivers = receivers
        self.resolutions = resolutions
        self.entries: list[Entry] = []
        self.tools: list[ToolCall] = []
        self.handoffs: dict[str, HandoffItem] = {}
        self.escalations: list[EscalationItem] = []
        self.errors: list[SpanRecord] = []

    def add(self, span: SpanRecord) -> None:
        kind = span.part
        if kind is HANDOFF:
            self._handoff(span)
        if self.bot is not None and span.bot_name != self.bot:
            return
        if span.is_failure:  # not a copy's failure, nor one by framework control flow
            self.errors.append(span)
        for event in span.events:
            entry = _entry(span, event.name, event.time_ns, dict(event.attributes))
            if entry is not None:
                self.entries.append(entry)
        if kind is TOOL:
            self.tools.append(_tool_call(span))
        elif kind is ESCALATION:
            self.escalations.append(_escalation(span, self.resolutions.get(span.span_id)))

    def _handoff(self, span: SpanRecord) -> None:
        attrs = span.attributes
        from_bot = str(attrs.get(sc.WORKLOG_HANDOFF_FROM, span.bot_name or "?"))
        # A framework's handoff is a tool call (transfer_to_billing): its tool name says where the work went.
        to_bot = str(attrs[sc.WORKLOG_HANDOFF_TO]) if sc.WORKLOG_HANDOFF_TO in attrs else tool_name(span.name, attrs)
        if self.bot is not None and self.bot not in (from_bot, to_bot):
            return
        reason = attrs.get(sc.WORKLOG_HANDOFF_REASON)
        step = attrs.get(sc.WORKLOG_STEP)
        self.handoffs[span.span_id] = HandoffItem(
            step=step if isinstance(step, int) and not isinstance(step, bool) else None,
            from_bot=from_bot,
            to_bot=to_bot,
            artifacts=_strs(attrs.get(sc.WORKLOG_HANDOFF_ARTIFACTS)),
            reason=str(reason) if reason is not None else None,
            time_ns=span.start_ns,
            span_id=span.span_id,
            receivers=tuple(self.receivers.get(span.span_id, ())),
        )


def _tool_call(span: SpanRecord) -> ToolCall:
    attrs = span.attributes
    exc = next((e for e in span.events if e.name == _EXCEPTION_EVENT), None)
    status = attrs.get(sc.WORKLOG_TOOL_STATUS)
    return ToolCall(
        name=tool_name(span.name, attrs),
        bot=span.bot_name,
        status=str(status) if status else ("error" if span.is_error else "success"),
        start_ns=span.start_ns,
        duration_ms=span.duration_ms,
        arguments=parse_json_value(attrs.get(sc.GEN_AI_TOOL_CALL_ARGUMENTS)),
        result=parse_json_value(attrs.get(sc.GEN_AI_TOOL_CALL_RESULT)),
        error_type=str(attrs[sc.ERROR_TYPE]) if sc.ERROR_TYPE in attrs else None,
        error_message=str(exc.attributes.get("exception.message", "")) if exc else span.status_message or None,
        span_id=span.span_id,
    )


def _escalation(span: SpanRecord, resolution: str | None) -> EscalationItem:
    attrs = span.attributes
    target = attrs.get(sc.WORKLOG_ESCALATION_TARGET)
    return EscalationItem(
        reason=str(attrs.get(sc.WORKLOG_ESCALATION_REASON, "")),
        target=str(target) if target is not None else None,
        bot=span.bot_name,
        time_ns=span.start_ns,
        span_id=span.span_id,
        trace_id=span.trace_id,
        workspace_id=span.workspace_id,
        resolution=resolution,
    )
