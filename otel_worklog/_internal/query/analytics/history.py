"""Turn finished spans into workflows and bot sessions: the one pass every analysis shares.

A workflow is one workspace session (one trace; a ``new_trace`` continuation that links back to a
handoff is folded into the trace it came from). A bot session is one bot span with everything under
it down to the next bot. What a span is (bot, tool, handoff...) is ``span_kinds.classify``'s answer,
whether its tokens count and whether its failure counts are ``counts_usage``'s and ``is_failure``'s (a
copy of another instrumentation's span counts once; framework control flow is no failure), and
whether a session or a bot's part of it succeeded is ``status``'s rule, as in every other view.
Spans are read only through :class:`SpanRecord`, so the same code runs on the local store, on Tempo,
and on lists built by tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Final

from opentelemetry.semconv.attributes.exception_attributes import EXCEPTION_MESSAGE, EXCEPTION_TYPE

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline.detectors.fingerprint import fingerprint
from otel_worklog._internal.query.gcpause import paused_gc
from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.span_kinds import (
    ALERT,
    BOT,
    ESCALATION,
    HANDOFF,
    TOOL,
    WORKSPACE,
    Kind,
    classify,
    counts_usage,
    is_failure,
    tool_name,
)
from otel_worklog._internal.status import FAILING_KINDS, OK, SUCCEEDED, status_from_counts

_BOT_PREFIX: Final = sc.SPAN_INVOKE_AGENT.split("{", 1)[0]
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
    error_entries: int = 0

    @property
    def duration_s(self) -> float:
        return _seconds(self.end_ns - self.start_ns)

    @property
    def status(self) -> str:
        """This bot's part of the session, by the rule every view uses (``status.py``)."""
        return status_from_counts(self.unresolved_escalations, self.failed, self.error_entries, self.error_spans)

    @property
    def success(self) -> bool:
        """No escalation left open, the bot did not fail and logged no error (a caught tool error is fine)."""
        return self.status in SUCCEEDED

    @property
    def first_shot(self) -> bool:
        """Done without a failed tool, an error, a correction or an escalation left open."""
        return self.corrections == 0 and self.status == OK

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
    escalations: int
    unresolved_escalations: int
    sessions: list[BotSession]
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    tool_s: float = 0.0
    coordination_s: float = 0.0
    alerts: dict[str, int] = field(default_factory=dict)
    #: Bot and workspace spans that failed, error entries, and the other spans that failed (tools...).
    failed_bots: int = 0
    error_entries: int = 0
    failed_steps: int = 0

    @property
    def status(self) -> str:
        """The session's status, by the rule ``logs`` and ``explain`` use too (``status.py``)."""
        return status_from_counts(self.unresolved_escalations, self.failed_bots, self.error_entries, self.failed_steps)

    @property
    def unhandled_error(self) -> bool:
        """A bot or the workspace failed, or a bot logged an error (whether or not an escalation is open too)."""
        return self.failed_bots > 0 or self.error_entries > 0

    @property
    def success(self) -> bool:
        """Ok or recovered."""
        return self.status in SUCCEEDED

    @property
    def duration_s(self) -> float:
        return _seconds(self.end_ns - self.start_ns)

    @property
    def sequence(self) -> tuple[str, ...]:
        """Bots in the order they started, repeats in a row collapsed (a → b → a stays)."""
        names: list[str] = []
        for session in _in_session_order(self.sessions):
            if not names or names[-1] != session.bot:
                names.append(session.bot)
        return tuple(names)


def _in_session_order(sessions: list[BotSession]) -> list[BotSession]:
    """``sessions`` by start, then span id. The pass adds them in start order, so when no two start together
    (as almost always) checking is cheaper than sorting."""
    previous: int | None = None
    for session in sessions:
        if previous is not None and session.start_ns <= previous:
            return sorted(sessions, key=_SESSION_ORDER)
        previous = session.start_ns
    return sessions


@dataclass(slots=True)
class History:
    workflows: list[Workflow]
    errors: list[ErrorOccurrence]
    span_count: int
    #: What the analyses derive from the workflows and share (each worked out once): see ``analyses.bot_parts``.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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


#: The largest int a float holds exactly: up to it, ``int(float(n)) == n``.
_EXACT_INT: Final = 2**53


def _count(value: Any) -> int:
    """``int(_number(value))``, with a plain int (as tokens usually are) taken as it is: no float round trip."""
    if value.__class__ is int and 0 <= value <= _EXACT_INT:
        return value  # type: ignore[no-any-return]
    return int(_number(value))


_ERROR_STATUS: Final = "ERROR"
_RESOLVED_EVENT: Final = sc.EVENT_ESCALATION_RESOLVED


def build_history(spans: Iterable[SpanRecord]) -> History:
    """Group ``spans`` into workflows, bot sessions and error occurrences (alert spans are left out)."""
    with paused_gc():
        return _build_history(spans)


def _build_history(spans: Iterable[SpanRecord]) -> History:
    grouped: dict[str, list[SpanRecord]] = {}
    alerts: dict[str, dict[str, int]] = {}
    rooted: set[str] = set()  # the traces with a workspace span: no continuation of another
    count = 0
    for span in spans:
        count += 1
        kind = span.known_part  # as the store classified it at ingest, else classified here, once per span
        if kind is None:
            kind = span.known_part = classify(span.name, span.attributes)
        trace_id = span.trace_id
        members = grouped.get(trace_id)
        if members is None:
            members = grouped[trace_id] = []  # traces keep the order they first appear in, alerts included
        if kind is ALERT:  # alert spans are counted, not analysed
            _count_alert(alerts, trace_id, span)
        else:
            members.append(span)
            if kind is WORKSPACE:
                rooted.add(trace_id)
    traces = {trace_id: members for trace_id, members in grouped.items() if members}
    del grouped
    _fold_continuations(traces, rooted)
    workflows: list[Workflow] = []
    errors: list[ErrorOccurrence] = []
    for trace_id in list(traces):
        # Each trace's spans are let go once its workflow is built: the next workflows reuse their memory.
        workflow = _workflow(trace_id, traces.pop(trace_id), errors)
        if workflow is not None:
            workflow.alerts = alerts.get(trace_id, {})
            workflows.append(workflow)
    workflows.sort(key=_WORKFLOW_ORDER)
    errors.sort(key=_TIME_NS)
    return History(workflows, errors, count)


def _count_alert(alerts: dict[str, dict[str, int]], trace_id: str, span: SpanRecord) -> None:
    """Count an alert span by its kind of alert, in its trace."""
    counts = alerts.setdefault(trace_id, {})
    alert = str(span.attributes.get(sc.WORKLOG_ALERT_KIND))
    counts[alert] = counts.get(alert, 0) + 1


def _fold_continuations(traces: dict[str, list[SpanRecord]], rooted: set[str]) -> None:
    """A trace with no workspace root that links to a handoff in another trace joins that trace."""
    for trace_id in list(traces):
        if trace_id in rooted:
            continue
        spans = traces[trace_id]
        target = next(
            (
                link.trace_id
                for span in spans
                for link in span.links
                if link.attributes.get(sc.WORKLOG_LINK_TYPE) == sc.LINK_TYPE_HANDOFF and link.trace_id != trace_id
            ),
            None,
        )
        if target is not None and target in traces:
            traces[target].extend(spans)
            del traces[trace_id]


_ERROR_EVENTS: Final = frozenset({_EVENT_EXCEPTION, _EVENT_ERROR})
_START_NS: Final = attrgetter("start_ns")
_A_BOT: Final = sc.BOT_NAME
_A_AGENT: Final = sc.GEN_AI_AGENT_NAME
_A_ROLE: Final = sc.BOT_ROLE
_A_WORKSPACE_ID: Final = sc.WORKSPACE_ID
_A_TOOL: Final = sc.GEN_AI_TOOL_NAME
_A_TOKENS_IN: Final = sc.GEN_AI_USAGE_INPUT_TOKENS
_A_TOKENS_OUT: Final = sc.GEN_AI_USAGE_OUTPUT_TOKENS
_A_COST: Final = sc.WORKLOG_COST
_A_CATEGORY: Final = sc.WORKLOG_CATEGORY
_A_MESSAGE: Final = sc.WORKLOG_MESSAGE
_BOT_CONVERSATION: Final = sc.CATEGORY_BOT_CONVERSATION
#: An exception queued for :func:`_count_raised`: (time, -span start, fingerprint, type, message, span, session).
_Raised = tuple[int, int, str, str, str, SpanRecord, "BotSession | None"]


def _new_session(span: SpanRecord, workspace_id: str | None, query: str | None) -> BotSession:
    attrs = span.attributes
    role = attrs.get(_A_ROLE)
    own_workspace = attrs.get(_A_WORKSPACE_ID)  # SpanRecord.workspace_id, without a property call per session
    # The leading fields by position: this runs once per bot session, and keywords are slower to match.
    return BotSession(
        str(attrs.get(_A_BOT) or attrs.get(_A_AGENT) or span.name[len(_BOT_PREFIX) :]),  # bot
        role if isinstance(role, str) else None,  # role
        span.trace_id,
        span.span_id,
        own_workspace if isinstance(own_workspace, str) and own_workspace else workspace_id,
        span.start_ns,
        span.end_ns,
        span.status_code == _ERROR_STATUS and is_failure(True, attrs, span.exception_type),  # failed
        query=query,
    )


def _workflow(trace_id: str, spans: list[SpanRecord], errors: list[ErrorOccurrence]) -> Workflow | None:
    """The workflow of one trace (with the continuations folded into it); None when it is not our work."""
    spans = _in_start_order(spans)
    root = _root_of(spans)
    workspace_id = root.workspace_id if root is not None else None
    if workspace_id is None:
        workspace_id = next((span.workspace_id for span in spans if span.workspace_id is not None), None)
        if workspace_id is None:
            return None  # not otel_worklog work
    raw_query = root.attributes.get(sc.WORKLOG_QUERY) if root is not None else None
    workflow = Workflow(
        trace_id=trace_id,
        workspace_id=workspace_id,
        workspace_type=_str(root.attributes.get(sc.WORKSPACE_TYPE)) if root is not None else None,
        query=raw_query if isinstance(raw_query, str) else None,
        start_ns=root.start_ns if root is not None else spans[0].start_ns,
        end_ns=root.end_ns if root is not None else max(span.end_ns for span in spans),
        estimated_s=_estimate(root),
        escalations=0,
        unresolved_escalations=0,
        sessions=[],
    )
    _Pass(workflow, spans, errors).run()
    return workflow


def _root_of(spans: list[SpanRecord]) -> SpanRecord | None:
    """The first workspace span in start order: the session's root (usually the first span)."""
    for span in spans:
        if span.known_part is WORKSPACE:
            return span
    return None


class _Pass:
    """One pass over a workflow's spans in start order (a parent starts before its children).

    Every span's kind is known (:attr:`SpanRecord.known_part`) before the pass: ``_build_history`` classifies.
    """

    __slots__ = (
        "by_id",
        "coordination",
        "errors",
        "escalations",
        "handoff_ends",
        "markers",
        "owner",
        "raised",
        "resolved",
        "spans",
        "tool_ids",
        "workflow",
    )

    def __init__(
        self,
        workflow: Workflow,
        spans: list[SpanRecord],
        errors: list[ErrorOccurrence],
    ) -> None:
        self.workflow = workflow
        #: The escalations seen (span id, the bot session that raised it), and the span ids resolved.
        self.escalations: list[tuple[str, BotSession | None]] = []
        self.resolved: set[str] = set()
        #: The end of each handoff span, by span id: a bot started under it after it ended waited that long.
        self.handoff_ends: dict[str, int] = {}
        self.spans = spans
        self.errors = errors
        self.by_id: dict[str, SpanRecord] | None = None  # only for a span whose parent was not seen first
        self.owner: dict[str, BotSession | None] = {}
        self.raised: list[_Raised] = []
        #: Each bot session's activity (time, whether it is a coordination entry), by ``id(session)``.
        self.markers: dict[int, list[tuple[int, bool]]] = {}
        self.tool_ids: set[str] = set()
        self.coordination = 0.0

    def run(self) -> None:
        """Tools and handoffs (most spans) are counted here, in the loop; the rest in the methods it calls."""
        owner, markers, tool_ids = self.owner, self.markers, self.tool_ids
        tool_time = coordination = 0.0
        for span in self.spans:
            kind = span.known_part
            parent_id = span.parent_span_id
            if kind is BOT:
                session: BotSession | None = self._bot(span, parent_id)
            elif parent_id is None:
                session = None
            else:
                session = owner[parent_id] if parent_id in owner else self._owner_by_walk(span)
            span_id = span.span_id
            owner[span_id] = session
            attrs = span.attributes
            if _A_TOKENS_IN in attrs or _A_TOKENS_OUT in attrs or _A_COST in attrs:
                self._usage(attrs, session)
            if kind is TOOL:
                tool_ids.add(span_id)
                if parent_id not in tool_ids:  # a tool inside a tool is counted once
                    elapsed = span.end_ns - span.start_ns
                    seconds = elapsed / 1e9 if elapsed > 0 else 0.0  # _seconds, inline: most spans are tools
                    tool_time += seconds
                    if session is not None:
                        session.tool_s += seconds
                        tool = attrs.get(_A_TOOL)  # the common case, without a call
                        session.tools.append(tool if tool.__class__ is str and tool else tool_name(span.name, attrs))
                        markers[id(session)] += ((span.start_ns, False), (span.end_ns, False))
            elif kind is HANDOFF:
                coordination += self._handoff(span, session)
            elif kind is ESCALATION:
                self._escalation(span, session)
            if span.status_code == _ERROR_STATUS and is_failure(True, attrs, span.exception_type):
                self._failed(kind, session)
            if span.events:
                self._events(span, attrs, session)
        self.workflow.tool_s = tool_time
        self.coordination += coordination
        self._finish()

    def _bot(self, span: SpanRecord, parent_id: str | None) -> BotSession:
        workflow = self.workflow
        session = _new_session(span, workflow.workspace_id, workflow.query)
        workflow.sessions.append(session)
        self.markers[id(session)] = []
        handoff_end = self.handoff_ends.get(parent_id) if parent_id is not None else None
        if handoff_end is not None and span.start_ns > handoff_end:
            self.coordination += (span.start_ns - handoff_end) / 1e9  # handoff latency
        return session

    def _handoff(self, span: SpanRecord, session: BotSession | None) -> float:
        """Note when the handoff ended (for the wait of the bot it starts); returns its seconds."""
        self.handoff_ends[span.span_id] = span.end_ns
        seconds = _seconds(span.end_ns - span.start_ns)
        if session is not None:
            session.coordination_s += seconds
        return seconds

    def _usage(self, attrs: Any, session: BotSession | None) -> None:
        if not counts_usage(attrs):
            return
        tokens_in = _count(attrs.get(_A_TOKENS_IN))
        tokens_out = _count(attrs.get(_A_TOKENS_OUT))
        cost = _number(attrs.get(_A_COST))
        workflow = self.workflow
        workflow.input_tokens += tokens_in
        workflow.output_tokens += tokens_out
        workflow.cost += cost
        if session is not None:
            session.input_tokens += tokens_in
            session.output_tokens += tokens_out
            session.cost += cost

    def _escalation(self, span: SpanRecord, session: BotSession | None) -> None:
        self.workflow.escalations += 1
        self.coordination += _seconds(span.end_ns - span.start_ns)
        self.escalations.append((span.span_id.lower(), session))

    def _failed(self, kind: Kind | None, session: BotSession | None) -> None:
        """A failed bot (or workspace) fails its session; any other failed span is a step its bot may recover from."""
        if kind in FAILING_KINDS:
            self.workflow.failed_bots += 1
            return
        self.workflow.failed_steps += 1
        if session is not None and kind is not HANDOFF and kind is not ESCALATION:
            session.error_spans += 1

    def _events(self, span: SpanRecord, attrs: Any, session: BotSession | None) -> None:
        markers = self.markers[id(session)] if session is not None else None
        has_errors = False
        for event in span.events:
            name = event.name
            event_attrs = event.attributes
            if name in _ERROR_EVENTS:
                has_errors = True
            elif name == _RESOLVED_EVENT:
                _note_resolution(event_attrs, self.resolved)
            elif name == _EVENT_CORRECTION and session is not None:
                session.corrections += 1
            if markers is not None:
                message = event_attrs.get(_A_MESSAGE)
                if message.__class__ is str:  # what the bot wrote: ``recommend`` matches tasks against it
                    session.text = f"{session.text} {message}"  # type: ignore[union-attr]
                coordinating = name in _COORDINATION_EVENTS or event_attrs.get(_A_CATEGORY) == _BOT_CONVERSATION
                markers.append((event.time_ns, coordinating))
        if has_errors:
            workflow = self.workflow
            entries = _errors_of(span, attrs, session, workflow.workspace_id, self.errors, self.raised)
            workflow.error_entries += entries
            if session is not None:
                session.error_entries += entries

    def _owner_by_walk(self, span: SpanRecord) -> BotSession | None:
        if self.by_id is None:
            self.by_id = {s.span_id: s for s in self.spans}
        return _owner_by_walk(span, self.by_id, self.owner)

    def _finish(self) -> None:
        workflow = self.workflow
        for span_id, session in self.escalations:
            if span_id not in self.resolved:  # resolved anywhere in the workflow, before or after it was raised
                workflow.unresolved_escalations += 1
                if session is not None:
                    session.unresolved_escalations += 1
        _count_raised(self.raised, workflow.workspace_id, self.errors)
        coordination = self.coordination
        for session in workflow.sessions:
            session_markers = self.markers.get(id(session))
            if session_markers:
                seconds = _coordination_gaps(session.start_ns, session_markers)
                session.coordination_s += seconds
                coordination += seconds
        workflow.coordination_s = coordination


def _note_resolution(attributes: Any, resolved: set[str]) -> None:
    target = attributes.get(sc.WORKLOG_ESCALATION_SPAN_ID)
    if isinstance(target, str):
        resolved.add(target.lower())


def _in_start_order(spans: list[SpanRecord]) -> list[SpanRecord]:
    """``spans`` sorted by start time, ties kept in order (readers give them so: checking is cheaper than
    sorting)."""
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
    raised: list[_Raised],
) -> int:
    """Record error entries now (returns how many); queue exceptions for :func:`_count_raised`, which drops
    bubbling copies."""
    own: set[str] = set()
    entries = 0
    for event in span.events:
        if event.name == _EVENT_EXCEPTION:
            raised_type = event.attributes.get(EXCEPTION_TYPE)
            if not is_failure(True, attrs, raised_type if isinstance(raised_type, str) else None):
                continue  # a copy's exception (counted on the original), or framework control flow
            error_type = str(raised_type or attrs.get(sc.ERROR_TYPE) or "Error")
            message = str(event.attributes.get(EXCEPTION_MESSAGE, ""))
            fp = fingerprint(error_type, message)
            if fp not in own:
                own.add(fp)
                raised.append((event.time_ns, -span.start_ns, fp, error_type, message, span, session))
        elif event.name == _EVENT_ERROR:
            entries += 1
            message = str(event.attributes.get(sc.WORKLOG_MESSAGE, ""))
            fp = fingerprint(_EVENT_ERROR, message)
            errors.append(_occurrence(span, session, workspace_id, fp, _EVENT_ERROR, message, event.time_ns))
    return entries


def _count_raised(
    raised: list[_Raised],
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
        errors.append(_occurrence(span, session, workspace_id, fp, error_type, message, time_ns))


def _occurrence(
    span: SpanRecord,
    session: BotSession | None,
    workspace_id: str | None,
    fp: str,
    error_type: str,
    message: str,
    time_ns: int,
) -> ErrorOccurrence:
    """One error as counted; ``fp`` is ``fingerprint(error_type, message)``, worked out once by the caller."""
    bot = span.attributes.get(sc.BOT_NAME)
    return ErrorOccurrence(
        fingerprint=fp,
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
