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
from operator import attrgetter
from typing import Any, Final

from opentelemetry.semconv.attributes.exception_attributes import EXCEPTION_MESSAGE, EXCEPTION_TYPE

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline.detectors.fingerprint import fingerprint
from otel_worklog._internal.query.gcpause import paused_gc
from otel_worklog._internal.query.records import SpanRecord

_BOT_PREFIX: Final = sc.SPAN_INVOKE_AGENT.split("{", 1)[0]
_WORKSPACE_PREFIX: Final = sc.SPAN_WORKSPACE.split("{", 1)[0]
_EVENT_EXCEPTION: Final = "exception"
_EVENT_ERROR: Final = sc.event_name("error")
_EVENT_CORRECTION: Final = sc.event_name("correction")
_COORDINATION_EVENTS: Final = frozenset(
    {sc.event_name("handoff"), sc.event_name("coordination"), sc.EVENT_ESCALATION_RESOLVED}
)
ARROW: Final = " → "
_SESSION_ORDER: Final = attrgetter("start_ns", "span_id")
_WORKFLOW_ORDER: Final = attrgetter("start_ns", "trace_id")
_TIME_NS: Final = attrgetter("time_ns")


def _seconds(elapsed_ns: int) -> float:
    """Nanoseconds as seconds, never negative (a clock step can end a span before it starts)."""
    return elapsed_ns / 1e9 if elapsed_ns > 0 else 0.0


@dataclass(slots=True)
class ErrorOccurrence:
    """One error (an exception that is not just a child's bubbling up, or an error entry)."""

    fingerprint: str
    error_type: str
    message: str
    time_ns: int
    trace_id: str
    workspace_id: str | None
    bot: str | None


@dataclass(slots=True)
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
        return _seconds(self.end_ns - self.start_ns)

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


@dataclass(slots=True)
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
        return _seconds(self.end_ns - self.start_ns)

    @property
    def sequence(self) -> tuple[str, ...]:
        """Bots in the order they started, repeats in a row collapsed (a → b → a stays)."""
        names: list[str] = []
        for session in sorted(self.sessions, key=_SESSION_ORDER):
            if not names or names[-1] != session.bot:
                names.append(session.bot)
        return tuple(names)


@dataclass(slots=True)
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


def _is_workspace_root(span: SpanRecord) -> bool:
    return sc.WORKSPACE_TYPE in span.attributes or (
        span.parent_span_id is None and span.name.startswith(_WORKSPACE_PREFIX)
    )


def build_history(spans: Iterable[SpanRecord]) -> History:
    """Group ``spans`` into workflows, bot sessions and error occurrences (alert spans are left out)."""
    with paused_gc():
        return _build_history(spans)


def _build_history(spans: Iterable[SpanRecord]) -> History:
    traces: dict[str, list[SpanRecord]] = defaultdict(list)
    resolved: set[str] = set()
    alert_kinds: dict[str, dict[str, int]] = defaultdict(dict)
    count = 0
    alert_key, resolved_event, target_key = (
        sc.WORKLOG_ALERT_KIND,
        sc.EVENT_ESCALATION_RESOLVED,
        sc.WORKLOG_ESCALATION_SPAN_ID,
    )
    for span in spans:
        count += 1
        kind = span.attributes.get(alert_key)
        if kind is not None:
            counts = alert_kinds[span.trace_id]
            counts[str(kind)] = counts.get(str(kind), 0) + 1
            continue
        traces[span.trace_id].append(span)
        for event in span.events:
            if event.name == resolved_event:
                target = event.attributes.get(target_key)
                if isinstance(target, str):
                    resolved.add(target.lower())
    _fold_continuations(traces)
    workflows: list[Workflow] = []
    errors: list[ErrorOccurrence] = []
    for trace_id in list(traces):
        # Each trace's spans are let go once its workflow is built: the next workflows reuse their memory.
        workflow = _workflow(trace_id, traces.pop(trace_id), resolved, errors)
        if workflow is not None:
            workflow.alerts = alert_kinds.get(trace_id, {})
            workflows.append(workflow)
    workflows.sort(key=_WORKFLOW_ORDER)
    errors.sort(key=_TIME_NS)
    return History(workflows, errors, count)


def _fold_continuations(traces: dict[str, list[SpanRecord]]) -> None:
    """A trace with no workspace root that links to a handoff in another trace joins that trace."""
    for trace_id in list(traces):
        spans = traces[trace_id]
        if any(map(_is_workspace_root, spans)):
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


_ERROR_EVENTS: Final = frozenset({_EVENT_EXCEPTION, _EVENT_ERROR})
_START_NS: Final = attrgetter("start_ns")
_A_WORKSPACE_TYPE: Final = sc.WORKSPACE_TYPE
_A_BOT: Final = sc.BOT_NAME
_A_OPERATION: Final = sc.GEN_AI_OPERATION_NAME
_A_TOOL: Final = sc.GEN_AI_TOOL_NAME
_A_TOKENS_IN: Final = sc.GEN_AI_USAGE_INPUT_TOKENS
_A_TOKENS_OUT: Final = sc.GEN_AI_USAGE_OUTPUT_TOKENS
_A_COST: Final = sc.WORKLOG_COST
_A_HANDOFF_TO: Final = sc.WORKLOG_HANDOFF_TO
_A_ESCALATION: Final = sc.WORKLOG_ESCALATION
_A_CATEGORY: Final = sc.WORKLOG_CATEGORY
_EXECUTE_TOOL: Final = sc.OPERATION_EXECUTE_TOOL
_INVOKE_AGENT: Final = sc.OPERATION_INVOKE_AGENT
_BOT_CONVERSATION: Final = sc.CATEGORY_BOT_CONVERSATION


def _new_session(span: SpanRecord, workspace_id: str | None, query: str | None) -> BotSession:
    attrs = span.attributes
    role = attrs.get(sc.BOT_ROLE)
    # The leading fields by position: matching keywords doubled the cost of building 60,000 sessions.
    return BotSession(
        str(attrs.get(_A_BOT) or attrs.get(sc.GEN_AI_AGENT_NAME) or span.name[len(_BOT_PREFIX) :]),  # bot
        role if isinstance(role, str) else None,  # role
        span.trace_id,
        span.span_id,
        span.workspace_id or workspace_id,
        span.start_ns,
        span.end_ns,
        span.status_code == "ERROR",  # failed
        query=query,
    )


def _workflow(
    trace_id: str, spans: list[SpanRecord], resolved: set[str], errors: list[ErrorOccurrence]
) -> Workflow | None:
    """One pass over the trace's spans in start order (a parent starts before its children)."""
    spans = _in_start_order(spans)
    by_id = {span.span_id: span for span in spans}
    root = next(filter(_is_workspace_root, spans), None)
    workspace_id = root.workspace_id if root is not None else None
    if workspace_id is None:
        workspace_id = next((span.workspace_id for span in spans if span.workspace_id is not None), None)
        if workspace_id is None:
            return None  # not otel_worklog work
    raw_query = root.attributes.get(sc.WORKLOG_QUERY) if root is not None else None
    query = raw_query if isinstance(raw_query, str) else None
    workflow = Workflow(
        trace_id=trace_id,
        workspace_id=workspace_id,
        workspace_type=_str(root.attributes.get(_A_WORKSPACE_TYPE)) if root is not None else None,
        query=query,
        start_ns=root.start_ns if root is not None else spans[0].start_ns,
        end_ns=root.end_ns if root is not None else max(span.end_ns for span in spans),
        estimated_s=_estimate(root),
        unhandled_error=root.status_code == "ERROR" if root is not None else False,
        escalations=0,
        unresolved_escalations=0,
        sessions=[],
    )
    sessions = workflow.sessions
    owner: dict[str, BotSession | None] = {}
    raised: list[tuple[int, int, str, str, str, SpanRecord, BotSession | None]] = []
    markers: dict[int, list[tuple[int, bool]]] = {}
    coordination = 0.0
    tool_time = 0.0
    for span in spans:
        attrs = span.attributes
        parent_id = span.parent_span_id
        operation = attrs.get(_A_OPERATION)
        if operation == _INVOKE_AGENT or (_A_BOT in attrs and span.name.startswith(_BOT_PREFIX)):
            session: BotSession | None = _new_session(span, workspace_id, query)
            owner[span.span_id] = session
            sessions.append(session)  # type: ignore[arg-type]
            if parent_id is not None:
                parent = by_id.get(parent_id)
                if parent is not None and _A_HANDOFF_TO in parent.attributes and span.start_ns > parent.end_ns:
                    coordination += (span.start_ns - parent.end_ns) / 1e9  # handoff latency
            is_bot_span = True
        else:
            is_bot_span = False
            if parent_id is None:
                session = None
            elif parent_id in owner:
                session = owner[parent_id]
            else:
                session = _owner_by_walk(span, by_id, owner)
            owner[span.span_id] = session
        if _A_COST in attrs or _A_TOKENS_IN in attrs or _A_TOKENS_OUT in attrs:
            tokens_in = int(_number(attrs.get(_A_TOKENS_IN)))
            tokens_out = int(_number(attrs.get(_A_TOKENS_OUT)))
            cost = _number(attrs.get(_A_COST))
            workflow.input_tokens += tokens_in
            workflow.output_tokens += tokens_out
            workflow.cost += cost
            if session is not None:
                session.input_tokens += tokens_in
                session.output_tokens += tokens_out
                session.cost += cost
        tool = attrs.get(_A_TOOL)
        if tool is not None or operation == _EXECUTE_TOOL:
            parent = by_id.get(parent_id) if parent_id is not None else None
            if parent is None or _A_TOOL not in parent.attributes:  # a tool inside a tool is counted once
                elapsed = span.end_ns - span.start_ns
                seconds = elapsed / 1e9 if elapsed > 0 else 0.0
                tool_time += seconds
                if session is not None:
                    session.tool_s += seconds
                    session.tools.append(str(tool or span.name))
                    found = markers.get(id(session))
                    if found is None:
                        found = markers[id(session)] = []
                    found.append((span.start_ns, False))
                    found.append((span.end_ns, False))
            if session is not None and span.status_code == "ERROR":
                session.error_spans += 1
        elif attrs.get(_A_ESCALATION) is True:
            workflow.escalations += 1
            elapsed = span.end_ns - span.start_ns
            coordination += elapsed / 1e9 if elapsed > 0 else 0.0
            if span.span_id.lower() not in resolved:
                workflow.unresolved_escalations += 1
                if session is not None:
                    session.unresolved_escalations += 1
        elif _A_HANDOFF_TO in attrs:
            elapsed = span.end_ns - span.start_ns
            seconds = elapsed / 1e9 if elapsed > 0 else 0.0
            coordination += seconds
            if session is not None:
                session.coordination_s += seconds
        elif not is_bot_span and session is not None and span.status_code == "ERROR":
            session.error_spans += 1
        events = span.events
        if events:
            has_errors = False
            found = None
            if session is not None:
                found = markers.get(id(session))
                if found is None:
                    found = markers[id(session)] = []
            for event in events:
                name = event.name
                if name in _ERROR_EVENTS:
                    has_errors = True
                if found is not None:
                    if name == _EVENT_CORRECTION:
                        session.corrections += 1  # type: ignore[union-attr]
                    found.append(
                        (
                            event.time_ns,
                            name in _COORDINATION_EVENTS or event.attributes.get(_A_CATEGORY) == _BOT_CONVERSATION,
                        )
                    )
            if has_errors:
                _errors_of(span, attrs, session, workspace_id, errors, raised)
    if root is None:
        workflow.unhandled_error = any(s.failed for s in sessions)
    _count_raised(raised, workspace_id, errors)
    for session in sessions:
        session_markers = markers.get(id(session))
        if session_markers:
            seconds = _coordination_gaps(session.start_ns, session_markers)
            session.coordination_s += seconds
            coordination += seconds
    workflow.coordination_s = coordination
    workflow.tool_s = tool_time
    return workflow


def _in_start_order(spans: list[SpanRecord]) -> list[SpanRecord]:
    """``spans`` sorted by start time, ties kept in order; readers give them so, and checking is cheaper."""
    previous = spans[0].start_ns
    for span in spans:
        if span.start_ns < previous:
            return sorted(spans, key=_START_NS)
        previous = span.start_ns
    return spans


def _owner_by_walk(
    span: SpanRecord, by_id: dict[str, SpanRecord], owner: dict[str, BotSession | None]
) -> BotSession | None:
    """The bot a span works for, when its parent was not seen first (out-of-order or missing spans)."""
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


def _coordination_gaps(start_ns: int, markers: list[tuple[int, bool]]) -> float:
    """Time from the previous activity to each coordination entry: what writing it took."""
    markers.sort()
    previous = start_ns
    total = 0
    for time_ns, coordination in markers:
        if time_ns > previous:
            if coordination:
                total += time_ns - previous
            previous = time_ns
    return total / 1e9


#: An exception seen again on an enclosing span this soon after is the same one bubbling up.
BUBBLE_NS: Final = 1_000_000_000


def _errors_of(
    span: SpanRecord,
    attrs: Any,
    session: BotSession | None,
    workspace_id: str | None,
    errors: list[ErrorOccurrence],
    raised: list[tuple[int, int, str, str, str, SpanRecord, BotSession | None]],
) -> None:
    """Record error entries now; queue exceptions for :func:`_count_raised` (which drops bubbling copies)."""
    own: set[str] = set()
    for event in span.events:
        if event.name == _EVENT_EXCEPTION:
            error_type = str(event.attributes.get(EXCEPTION_TYPE) or attrs.get(sc.ERROR_TYPE) or "Error")
            message = str(event.attributes.get(EXCEPTION_MESSAGE, ""))
            fp = fingerprint(error_type, message)
            if fp not in own:
                own.add(fp)
                raised.append((event.time_ns, -span.start_ns, fp, error_type, message, span, session))
        elif event.name == _EVENT_ERROR:
            message = str(event.attributes.get(sc.WORKLOG_MESSAGE, ""))
            errors.append(_occurrence(span, session, workspace_id, _EVENT_ERROR, message, event.time_ns))


def _count_raised(
    raised: list[tuple[int, int, str, str, str, SpanRecord, BotSession | None]],
    workspace_id: str | None,
    errors: list[ErrorOccurrence],
) -> None:
    """Count each exception once: the copy an enclosing span records as it bubbles up is skipped.

    A copy is the same fingerprint on a span that started no later than the previous occurrence's span
    (so it encloses it in time) and recorded within a second of it.
    """
    if not raised:
        return
    latest: dict[str, tuple[int, int]] = {}
    for time_ns, neg_start, fp, error_type, message, span, session in sorted(raised, key=lambda item: item[:2]):
        start_ns = -neg_start
        previous = latest.get(fp)
        latest[fp] = (start_ns, time_ns)
        if previous is not None and previous[0] >= start_ns and 0 <= time_ns - previous[1] <= BUBBLE_NS:
            continue
        errors.append(_occurrence(span, session, workspace_id, error_type, message, time_ns))


def _occurrence(
    span: SpanRecord, session: BotSession | None, workspace_id: str | None, error_type: str, message: str, time_ns: int
) -> ErrorOccurrence:
    bot = span.attributes.get(sc.BOT_NAME)
    return ErrorOccurrence(
        fingerprint=fingerprint(error_type, message),
        error_type=error_type,
        message=message,
        time_ns=time_ns,
        trace_id=span.trace_id,
        workspace_id=span.workspace_id or workspace_id,
        bot=bot if isinstance(bot, str) else (session.bot if session is not None else None),
    )


def _estimate(root: SpanRecord | None) -> float | None:
    if root is None:
        return None
    value = root.attributes.get(sc.WORKSPACE_ESTIMATED_DURATION_S)
    number = _number(value)
    return number if value is not None and number > 0 else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
