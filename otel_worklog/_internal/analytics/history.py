"""Turn finished spans into workflows and bot sessions: the one pass every analysis shares.

A workflow is one workspace session (one trace; a ``new_trace`` continuation that links back to a
handoff is folded into the trace it came from). A bot session is one ``invoke_agent`` span with
everything under it down to the next bot. Spans are read only through :class:`SpanRecord`, so the
same code runs on the local store, on Tempo, and on lists built by tests.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.detectors.fingerprint import fingerprint
from otel_worklog._internal.model import SpanRecord

_BOT_PREFIX: Final = sc.SPAN_INVOKE_AGENT.split("{", 1)[0]
_WORKSPACE_PREFIX: Final = sc.SPAN_WORKSPACE.split("{", 1)[0]
_EVENT_EXCEPTION: Final = "exception"
_EVENT_ERROR: Final = sc.event_name("error")
_EVENT_CORRECTION: Final = sc.event_name("correction")
_COORDINATION_EVENTS: Final = frozenset(
    {sc.event_name("handoff"), sc.event_name("coordination"), sc.EVENT_ESCALATION_RESOLVED}
)
ARROW: Final = " → "


@dataclass
class ErrorOccurrence:
    """One error (an exception that is not just a child's bubbling up, or an error entry)."""

    fingerprint: str
    error_type: str
    message: str
    time_ns: int
    trace_id: str
    workspace_id: str | None
    bot: str | None


@dataclass
class BotSession:
    bot: str
    role: str | None
    trace_id: str
    span_id: str
    workspace_id: str | None
    start_ns: int
    end_ns: int
    failed: bool = False
    unresolved_escalations: int = 0
    error_spans: int = 0
    corrections: int = 0
    tools: list[str] = field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    tool_s: float = 0.0
    coordination_s: float = 0.0
    query: str | None = None
    text: str = ""

    @property
    def duration_s(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e9

    @property
    def success(self) -> bool:
        return not self.failed and self.unresolved_escalations == 0

    @property
    def first_shot(self) -> bool:
        """Done without a failed tool, a correction or an escalation left open."""
        return self.success and self.error_spans == 0 and self.corrections == 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class Workflow:
    trace_id: str
    workspace_id: str | None
    workspace_type: str | None
    query: str | None
    start_ns: int
    end_ns: int
    estimated_s: float | None
    unhandled_error: bool
    escalations: int
    unresolved_escalations: int
    sessions: list[BotSession]
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    tool_s: float = 0.0
    coordination_s: float = 0.0
    alerts: dict[str, int] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return not self.unhandled_error and self.unresolved_escalations == 0

    @property
    def duration_s(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e9

    @property
    def sequence(self) -> tuple[str, ...]:
        """Bots in the order they started, repeats in a row collapsed (a → b → a stays)."""
        names: list[str] = []
        for session in sorted(self.sessions, key=lambda item: (item.start_ns, item.span_id)):
            if not names or names[-1] != session.bot:
                names.append(session.bot)
        return tuple(names)


@dataclass
class History:
    workflows: list[Workflow]
    errors: list[ErrorOccurrence]
    span_count: int

    @property
    def sessions(self) -> list[BotSession]:
        return [session for workflow in self.workflows for session in workflow.sessions]

    @property
    def latest_ns(self) -> int:
        return max((workflow.end_ns for workflow in self.workflows), default=0)


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and number >= 0 else 0.0


def _is_bot(span: SpanRecord) -> bool:
    attrs = span.attributes
    return attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OPERATION_INVOKE_AGENT or (
        span.name.startswith(_BOT_PREFIX) and sc.BOT_NAME in attrs
    )


def _is_workspace_root(span: SpanRecord) -> bool:
    return sc.WORKSPACE_TYPE in span.attributes or (
        span.parent_span_id is None and span.name.startswith(_WORKSPACE_PREFIX)
    )


def build_history(spans: Iterable[SpanRecord]) -> History:
    """Group ``spans`` into workflows, bot sessions and error occurrences (alert spans are left out)."""
    traces: dict[str, list[SpanRecord]] = defaultdict(list)
    resolved: set[str] = set()
    alert_kinds: dict[str, dict[str, int]] = defaultdict(dict)
    count = 0
    for span in spans:
        count += 1
        attrs = span.attributes
        kind = attrs.get(sc.WORKLOG_ALERT_KIND)
        if kind is not None:
            counts = alert_kinds[span.trace_id]
            counts[str(kind)] = counts.get(str(kind), 0) + 1
            continue
        traces[span.trace_id].append(span)
        for event in span.events:
            if event.name == sc.EVENT_ESCALATION_RESOLVED:
                target = event.attributes.get(sc.WORKLOG_ESCALATION_SPAN_ID)
                if isinstance(target, str):
                    resolved.add(target.lower())
    _fold_continuations(traces)
    workflows: list[Workflow] = []
    errors: list[ErrorOccurrence] = []
    for trace_id, trace_spans in traces.items():
        workflow = _workflow(trace_id, trace_spans, resolved, errors)
        if workflow is not None:
            workflow.alerts = alert_kinds.get(trace_id, {})
            workflows.append(workflow)
    workflows.sort(key=lambda item: (item.start_ns, item.trace_id))
    errors.sort(key=lambda item: item.time_ns)
    return History(workflows, errors, count)


def _fold_continuations(traces: dict[str, list[SpanRecord]]) -> None:
    """A trace with no workspace root that links to a handoff in another trace joins that trace."""
    for trace_id in list(traces):
        spans = traces[trace_id]
        if any(_is_workspace_root(span) for span in spans):
            continue
        target = None
        for span in spans:
            for link in span.links:
                if link.attributes.get(sc.WORKLOG_LINK_TYPE) == sc.LINK_TYPE_HANDOFF and link.trace_id != trace_id:
                    target = link.trace_id
                    break
            if target is not None:
                break
        if target is not None and target in traces:
            traces[target].extend(spans)
            del traces[trace_id]


def _workflow(
    trace_id: str, spans: list[SpanRecord], resolved: set[str], errors: list[ErrorOccurrence]
) -> Workflow | None:
    by_id = {span.span_id: span for span in spans}
    root = next((span for span in spans if _is_workspace_root(span)), None)
    workspace_id = root.workspace_id if root is not None else None
    if workspace_id is None:
        workspace_id = next((span.workspace_id for span in spans if span.workspace_id is not None), None)
        if workspace_id is None:
            return None  # not otel_worklog work
    owner: dict[str, BotSession | None] = {}
    sessions: list[BotSession] = []
    query = root.attributes.get(sc.WORKLOG_QUERY) if root is not None else None
    for span in spans:
        if _is_bot(span):
            attrs = span.attributes
            role = attrs.get(sc.BOT_ROLE)
            session = BotSession(
                bot=str(attrs.get(sc.BOT_NAME) or attrs.get(sc.GEN_AI_AGENT_NAME) or span.name[len(_BOT_PREFIX) :]),
                role=role if isinstance(role, str) else None,
                trace_id=span.trace_id,
                span_id=span.span_id,
                workspace_id=span.workspace_id or workspace_id,
                start_ns=span.start_ns,
                end_ns=span.end_ns,
                failed=span.is_error,
                query=query if isinstance(query, str) else None,
            )
            owner[span.span_id] = session
            sessions.append(session)

    def owner_of(span: SpanRecord) -> BotSession | None:
        chain: list[str] = []
        current: SpanRecord | None = span
        found: BotSession | None = None
        while current is not None:
            if current.span_id in owner:
                found = owner[current.span_id]
                break
            chain.append(current.span_id)
            parent = current.parent_span_id
            current = by_id.get(parent) if parent is not None else None
        for span_id in chain:
            owner[span_id] = found
        return found

    workflow = Workflow(
        trace_id=trace_id,
        workspace_id=workspace_id,
        workspace_type=_str(root.attributes.get(sc.WORKSPACE_TYPE)) if root is not None else None,
        query=query if isinstance(query, str) else None,
        start_ns=root.start_ns if root is not None else min(span.start_ns for span in spans),
        end_ns=root.end_ns if root is not None else max(span.end_ns for span in spans),
        estimated_s=_estimate(root),
        unhandled_error=root.is_error if root is not None else any(s.is_error for s in sessions),
        escalations=0,
        unresolved_escalations=0,
        sessions=sessions,
    )
    span_fps: dict[str, str] = {}
    markers: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for span in spans:
        attrs = span.attributes
        session = owner_of(span)
        is_bot_span = session is not None and session.span_id == span.span_id
        tokens_in = attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
        tokens_out = attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        cost = attrs.get(sc.WORKLOG_COST)
        if tokens_in is not None or tokens_out is not None or cost is not None:
            workflow.input_tokens += int(_number(tokens_in))
            workflow.output_tokens += int(_number(tokens_out))
            workflow.cost += _number(cost)
            if session is not None:
                session.input_tokens += int(_number(tokens_in))
                session.output_tokens += int(_number(tokens_out))
                session.cost += _number(cost)
        tool = attrs.get(sc.GEN_AI_TOOL_NAME)
        if tool is not None or attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OPERATION_EXECUTE_TOOL:
            parent = by_id.get(span.parent_span_id) if span.parent_span_id else None
            nested = parent is not None and sc.GEN_AI_TOOL_NAME in parent.attributes
            if not nested:
                seconds = max(0, span.end_ns - span.start_ns) / 1e9
                workflow.tool_s += seconds
                if session is not None:
                    session.tool_s += seconds
                    session.tools.append(str(tool or span.name))
                    markers[id(session)].extend(((span.start_ns, False), (span.end_ns, False)))
            if span.is_error and session is not None:
                session.error_spans += 1
        elif span.is_escalation:
            workflow.escalations += 1
            workflow.coordination_s += max(0, span.end_ns - span.start_ns) / 1e9
            if span.span_id.lower() not in resolved:
                workflow.unresolved_escalations += 1
                if session is not None:
                    session.unresolved_escalations += 1
        elif sc.WORKLOG_HANDOFF_TO in attrs:
            seconds = max(0, span.end_ns - span.start_ns) / 1e9
            workflow.coordination_s += seconds
            if session is not None:
                session.coordination_s += seconds
        elif is_bot_span and span.parent_span_id is not None:
            parent = by_id.get(span.parent_span_id)
            if parent is not None and sc.WORKLOG_HANDOFF_TO in parent.attributes and span.start_ns > parent.end_ns:
                workflow.coordination_s += (span.start_ns - parent.end_ns) / 1e9  # handoff latency
        if span.is_error and not is_bot_span and session is not None and tool is None:
            session.error_spans += 1
        fp = _errors_of(span, attrs, session, workspace_id, errors, by_id, span_fps)
        if fp is not None:
            span_fps[span.span_id] = fp
        for event in span.events:
            name = event.name
            if session is not None:
                if name == _EVENT_CORRECTION:
                    session.corrections += 1
                coordination = (
                    name in _COORDINATION_EVENTS
                    or event.attributes.get(sc.WORKLOG_CATEGORY) == sc.CATEGORY_BOT_CONVERSATION
                )
                markers[id(session)].append((event.time_ns, coordination))
    for session in sessions:
        session_markers = markers.get(id(session))
        if session_markers:
            seconds = _coordination_gaps(session.start_ns, session_markers)
            session.coordination_s += seconds
            workflow.coordination_s += seconds
    return workflow


def _coordination_gaps(start_ns: int, markers: list[tuple[int, bool]]) -> float:
    """Time from the previous activity to each coordination entry: what writing it took."""
    markers.sort()
    previous = start_ns
    total = 0
    for time_ns, coordination in markers:
        if coordination and time_ns > previous:
            total += time_ns - previous
        previous = max(previous, time_ns)
    return total / 1e9


def _errors_of(
    span: SpanRecord,
    attrs: Any,
    session: BotSession | None,
    workspace_id: str | None,
    errors: list[ErrorOccurrence],
    by_id: dict[str, SpanRecord],
    span_fps: dict[str, str],
) -> str | None:
    """Record the span's errors; returns its exception fingerprint so its parent can skip the same one."""
    own: str | None = None
    bot = attrs.get(sc.BOT_NAME)
    for event in span.events:
        if event.name == _EVENT_EXCEPTION:
            error_type = str(event.attributes.get("exception.type") or attrs.get(sc.ERROR_TYPE) or "Error")
            message = str(event.attributes.get("exception.message", ""))
        elif event.name == _EVENT_ERROR:
            error_type = _EVENT_ERROR
            message = str(event.attributes.get(sc.WORKLOG_MESSAGE, ""))
        else:
            continue
        fp = fingerprint(error_type, message)
        if event.name == _EVENT_EXCEPTION:
            if own == fp:
                continue
            own = fp
            if fp in _child_fps(span, by_id, span_fps):
                continue  # the same exception bubbling up from a child: counted once
        errors.append(
            ErrorOccurrence(
                fingerprint=fp,
                error_type=error_type,
                message=message,
                time_ns=event.time_ns,
                trace_id=span.trace_id,
                workspace_id=span.workspace_id or workspace_id,
                bot=bot if isinstance(bot, str) else (session.bot if session is not None else None),
            )
        )
    return own


def _child_fps(span: SpanRecord, by_id: dict[str, SpanRecord], span_fps: dict[str, str]) -> set[str]:
    # Children end before their parent, and a trace arrives oldest first, so their fingerprints are known;
    # the scan is limited to spans already fingerprinted.
    return {fp for span_id, fp in span_fps.items() if by_id[span_id].parent_span_id == span.span_id}


def _estimate(root: SpanRecord | None) -> float | None:
    if root is None:
        return None
    value = root.attributes.get(sc.WORKSPACE_ESTIMATED_DURATION_S)
    number = _number(value)
    return number if value is not None and number > 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
