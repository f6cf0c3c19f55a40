"""The span processor otel_worklog adds to a tracer provider.

It does three things. On start, it stamps ``workspace.id`` and ``bot.name`` from
the current scope on every span, including spans of other instrumentations
(an HTTP client inside a tool), so TraceQL and span metrics can filter on any
span. It adopts the agent and tool spans other instrumentations record (a
framework's own GenAI spans, OpenInference, OpenLLMetry): they get the bot and
workspace of the work they describe, and a copy of what another span already
records is marked ``worklog.duplicate_of`` so it counts once. And it fans out to
the processors of the current configuration, which a second ``configure()``
swaps as one unit: the provider never holds stale or duplicate processors of ours.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, Protocol, runtime_checkable

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.pipeline.batch import BoundedBatchSpanProcessor
from otel_worklog._internal.record.current_span import SPAN_KEY, current_context
from otel_worklog._internal.record.ledger import LEDGER_KEY, EventLedger
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope
from otel_worklog._internal.record.state import STATE
from otel_worklog._internal.sdk_compat import attributes_of, has_events, started_span
from otel_worklog._internal.settings import SHUTDOWN_TIMEOUT_S, resolve
from otel_worklog._internal.span_kinds import (
    BOT,
    OPENINFERENCE_SPAN_KIND,
    TRACELOOP_SPAN_KIND,
    Kind,
    classify,
    may_be_bot,
    tool_name,
)

__all__ = [
    "Adoption",
    "Deadlined",
    "WorklogSpanProcessor",
    "adopting",
    "flush_children",
    "mark_copy",
    "shutdown_children",
]

#: Where instrumentations put an agent's name, most specific first (GenAI, then OpenInference).
_AGENT_NAME_KEYS: Final = (sc.GEN_AI_AGENT_NAME, "agent.name")
_AGENT_PREFIX: Final = sc.SPAN_INVOKE_AGENT.split("{", 1)[0]
_COUNTED_PREFIXES: Final = (_AGENT_PREFIX, sc.SPAN_EXECUTE_TOOL.split("{", 1)[0])
_GEN_AI_OPERATION: Final = sc.GEN_AI_OPERATION_NAME
_OUR_SCOPE: Final = sc.INSTRUMENTATION_SCOPE
_BOT_NAME: Final = sc.BOT_NAME
_WORKSPACE_ID: Final = sc.WORKSPACE_ID
_NO_STAMP: Final[Mapping[str, Any]] = {}


@runtime_checkable
class Deadlined(Protocol):
    """A processor of ours whose shutdown takes a deadline (``time.monotonic()``) and never waits past it."""

    def shutdown_by(self, deadline: float) -> None: ...


@dataclass(frozen=True, slots=True)
class Adoption:
    """What spans started while a framework event is dispatched describe.

    An integration opens it around the other listeners of one framework event (an agent turn
    starting, a tool call starting): every span they start gets ``stamp``, and, when ``copy_of`` is
    set, is marked as a copy of the span (hex id) our integration records for that event: the
    empty string stands for a whole framework run, which is recorded by its agents' spans.
    """

    stamp: Mapping[str, Any]
    copy_of: str | None = None
    #: Collects the spans they start, when the integration needs them later (to mark control flow).
    started: list[Span] | None = None
    #: Links their spans get: the handoff that started the agent turn they copy.
    links: tuple[tuple[trace.SpanContext, Mapping[str, Any]], ...] = ()


_ADOPTION: ContextVar[Adoption | None] = ContextVar("otel_worklog.adoption", default=None)


@contextlib.contextmanager
def adopting(adoption: Adoption) -> Iterator[None]:
    """Spans started in this block describe the framework event ``adoption`` names."""
    token = _ADOPTION.set(adoption)
    try:
        yield
    finally:
        _ADOPTION.reset(token)


class _Open(NamedTuple):
    """An open agent or tool span another span may copy or inherit its bot from (a named tuple: cheap to make)."""

    kind: Kind
    name: str
    #: The bot and workspace of spans started under it, when they do not come from our scope.
    stamp: Mapping[str, Any] | None
    span: Span
    parent_id: int


#: Open framework and foreign agent/tool spans by span id (ids are unique across providers); empty,
#: and never read, for apps that use only wl.bot and @wl.tool. One dict operation each, atomic under
#: the GIL: no lock.
_OPEN: dict[int, _Open] = {}


def mark_copy(span: Any, copy_of: str) -> None:
    """Mark ``span`` a copy of the span ``copy_of`` names, and the open spans it copies in turn.

    An instrumentation that wraps a call twice (OpenLLMetry after being instrumented twice) records
    one agent as two nested spans; the outer one is a copy too.
    """
    while span is not None and span.is_recording():
        span.set_attribute(sc.WORKLOG_DUPLICATE_OF, copy_of)
        own = _OPEN.get(span.get_span_context().span_id)
        parent = _OPEN.get(own.parent_id) if own is not None else None
        span = parent.span if parent is not None and parent.kind is own.kind and parent.name == own.name else None  # type: ignore[union-attr]


class _Chain(NamedTuple):
    """The children of the processor, and which of them each span start and end is handed to."""

    children: tuple[SpanProcessor, ...] = ()
    #: Those that do something as any span starts (the rest keep the SDK's on_start, which does nothing).
    starts: tuple[SpanProcessor, ...] = ()
    #: Those that look only at agents starting (``starts_only_agents``): handed the spans that may be one.
    agent_starts: tuple[SpanProcessor, ...] = ()
    #: Those that look at every span ending; the rest (``ends_only_with_events``) read only entries.
    ends: tuple[SpanProcessor, ...] = ()


class WorklogSpanProcessor(SpanProcessor):
    def __init__(self) -> None:
        self._chain = _Chain()  # swapped as one

    @property
    def children(self) -> tuple[SpanProcessor, ...]:
        return self._chain.children

    def replace_children(self, children: Iterable[SpanProcessor]) -> tuple[SpanProcessor, ...]:
        new = tuple(children)
        old = self._chain.children
        starting = [child for child in new if type(child).on_start is not SpanProcessor.on_start]
        self._chain = _Chain(
            new,
            tuple(child for child in starting if not getattr(type(child), "starts_only_agents", False)),
            tuple(child for child in starting if getattr(type(child), "starts_only_agents", False)),
            tuple(child for child in new if not getattr(type(child), "ends_only_with_events", False)),
        )
        return old

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        context = parent_context if parent_context is not None else current_context()
        scope = context.get(SCOPE_KEY)
        if type(scope) is not Scope:
            scope = None
        elif scope.stamp:
            span.set_attributes(scope.stamp)
        chain = self._chain
        span_name, attributes, scope_name = started_span(span)
        adoption = _ADOPTION.get()
        try:
            if adoption is not None:
                _adopt(span, adoption)
            elif _OPEN:
                self._inherit(span, context, scope, scope_name == _OUR_SCOPE, span_name, attributes)
            elif scope_name != _OUR_SCOPE and _may_count(span_name, attributes):
                # No adopted agent's work is open (apps without agent frameworks): only another
                # instrumentation's agent or tool span needs a look, not an HTTP client's, nor one of ours.
                self._inherit(span, context, scope, False, span_name, attributes)
        except Exception:
            log_internal_error()
        for child in chain.starts:
            try:
                child.on_start(span, parent_context)
            except Exception:
                log_internal_error()
        if chain.agent_starts and may_be_bot(span_name, attributes):
            for child in chain.agent_starts:  # those that look only at agents starting
                try:
                    child.on_start(span, parent_context)
                except Exception:
                    log_internal_error()

    def _inherit(
        self,
        span: Span,
        parent_context: otel_context.Context,
        scope: Scope | None,
        ours: bool,
        span_name: str,
        attributes: Mapping[str, Any],
    ) -> None:
        """Spans under an adopted agent get its bot; a copy of its parent agent or tool counts once."""
        parent = span.parent
        parent_id = parent.span_id if parent is not None else 0
        adopted = _OPEN.get(parent_id) if _OPEN else None
        if adopted is None:
            if not _may_count(span_name, attributes):
                return  # neither in an adopted agent's work nor an agent or a tool itself (an HTTP client's span)
            if (
                (not parent_id or _under_our_span(parent_context))
                and not may_be_bot(span_name, attributes)
                and not _passes_on(attributes, scope)
            ):
                return  # a tool in no adopted agent's work, with no foreign parent to copy and nothing to pass on
        elif adopted.stamp and not (ours and _BOT_NAME in attributes):
            span.set_attributes(adopted.stamp)  # a span of ours that names its bot keeps it
            attributes = attributes_of(span)
        kind = classify(span_name, attributes)
        namer = _NAMERS.get(kind)
        if namer is not None:
            name = namer(span_name, attributes)
            if not self._agent_or_tool(span, parent_context, parent_id, scope, ours, kind, name, adopted):
                return
        elif adopted is None:
            return  # neither an agent nor a tool, in no adopted agent's work: nothing under it needs this table
        else:
            name = ""
        if span.is_recording():
            remember(span, kind, name, parent_id)

    def _agent_or_tool(
        self,
        span: Span,
        parent_context: otel_context.Context | None,
        parent_id: int,
        scope: Scope | None,
        ours: bool,
        kind: Kind,
        name: str,
        adopted: _Open | None,
    ) -> bool:
        """Mark an agent or tool span that copies its parent, adopt another instrumentation's agent; whether
        the table of open spans needs it."""
        copied = adopted if adopted is not None or not parent_id else _unadopted(parent_id, parent_context)
        if _copies(copied, kind, name):
            span.set_attribute(sc.WORKLOG_DUPLICATE_OF, trace.format_span_id(parent_id))
        elif kind is BOT:
            if not ours:
                self._adopt_agent(span, parent_context, copied, scope, name)
        elif adopted is None and not _passes_on(attributes_of(span), scope):
            # A tool in no adopted agent's work: the spans under it get their bot from the scope they start
            # in, and a copy of it finds it through its parent context (``_unadopted``). So the table stays
            # empty for apps without agent frameworks.
            return False
        return True

    def _adopt_agent(
        self,
        span: Span,
        parent_context: otel_context.Context | None,
        parent: _Open | None,
        scope: Scope | None,
        name: str,
    ) -> None:
        """Another instrumentation's agent span is a bot span: its name, its workspace, its caller's handoff."""
        caller = (parent.stamp or {}).get(sc.BOT_NAME) if parent is not None else None
        if caller is None and scope is not None:
            caller = scope.bot_name
        stamp: dict[str, Any] = {sc.BOT_NAME: name, sc.GEN_AI_AGENT_NAME: name}
        workspace = attributes_of(span).get(sc.WORKSPACE_ID)
        if workspace is not None:
            stamp[sc.WORKSPACE_ID] = workspace
        span.set_attributes(stamp)
        if caller and caller != name:
            _record_delegation(span, parent_context, caller, name, stamp)

    def on_end(self, span: ReadableSpan) -> None:
        if _OPEN and span.context is not None:
            _OPEN.pop(span.context.span_id, None)
        chain = self._chain
        for child in chain.children if has_events(span) else chain.ends:
            try:
                child.on_end(span)
            except Exception:
                log_internal_error()

    def shutdown(self) -> None:
        shutdown_children(self.children, resolve(SHUTDOWN_TIMEOUT_S))  # attached until done: see configure.shutdown
        self.replace_children(())

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return flush_children(self.children, timeout_millis / 1000)


def _agent_name(span_name: str, attributes: Mapping[str, Any]) -> str:
    for key in _AGENT_NAME_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return span_name.removeprefix(_AGENT_PREFIX)


#: How an agent or a tool span names what it records (one dict lookup: cheaper than reading ``Kind.BOT`` off the enum).
_NAMERS: Final[Mapping[Kind, Callable[[str, Mapping[str, Any]], str]]] = {Kind.BOT: _agent_name, Kind.TOOL: tool_name}


def _may_count(span_name: str, attributes: Mapping[str, Any]) -> bool:
    """Whether a span may be an agent or a tool by some convention: False for an HTTP client's span and the like."""
    return (
        _GEN_AI_OPERATION in attributes
        or OPENINFERENCE_SPAN_KIND in attributes
        or TRACELOOP_SPAN_KIND in attributes
        or span_name.startswith(_COUNTED_PREFIXES)
    )


def _under_our_span(parent_context: otel_context.Context | None) -> bool:
    """Whether the parent is a span otel_worklog started (a bot, a tool): its ledger rides beside it in the
    context, so this takes two lookups where finding the parent span and classifying it takes many."""
    ctx = parent_context if parent_context is not None else current_context()
    ledger = ctx.get(LEDGER_KEY)
    return isinstance(ledger, EventLedger) and ctx.get(SPAN_KEY) is ledger.span


def _passes_on(attributes: Mapping[str, Any], scope: Scope | None) -> bool:
    """Whether a span holds a bot or workspace that spans started under it would not get from its scope."""
    stamp = scope.stamp if scope is not None else _NO_STAMP
    return attributes.get(_BOT_NAME) is not stamp.get(_BOT_NAME) or (
        attributes.get(_WORKSPACE_ID) is not stamp.get(_WORKSPACE_ID)
    )


def _unadopted(parent_id: int, parent_context: otel_context.Context | None) -> _Open | None:
    """The parent agent or tool span another instrumentation recorded outside any adopted agent's work,
    which the table of open spans does not hold: read from the parent context, when it is there."""
    parent = trace.get_current_span(parent_context)
    if (
        not isinstance(parent, Span)
        or parent.get_span_context().span_id != parent_id
        or _is_ours(parent)
        or not parent.is_recording()
    ):
        return None
    attributes = attributes_of(parent)
    kind = classify(parent.name, attributes)
    namer = _NAMERS.get(kind)
    if namer is None:
        return None
    return tuple.__new__(_Open, (kind, namer(parent.name, attributes), None, parent, 0))


def _copies(parent: _Open | None, kind: Kind, name: str) -> bool:
    """Whether an agent or tool span repeats its open parent: two instrumentations recording the same call."""
    return parent is not None and parent.kind is kind and _same_name(parent.name, name)


def _same_name(first: str, second: str) -> bool:
    """``check_balance`` and ``Billing.check_balance`` (``@wl.tool`` names a function by its qualified name)."""
    return first == second or first.rsplit(".", 1)[-1] == second.rsplit(".", 1)[-1]


def _is_ours(span: Span) -> bool:
    return started_span(span)[2] == _OUR_SCOPE


def remember(span: Span, kind: Kind, name: str, parent_id: int | None = None) -> None:
    """An open agent or tool span that spans started under it copy or take their bot from."""
    if parent_id is None:
        parent_id = span.parent.span_id if span.parent is not None else 0
    # tuple.__new__ builds the named tuple in C (its generated __new__ is Python): once per open span.
    _OPEN[span.context.span_id] = tuple.__new__(_Open, (kind, name, _effective_stamp(span), span, parent_id))


def _effective_stamp(span: Span) -> dict[str, Any] | None:
    attributes = attributes_of(span)
    bot = attributes.get(_BOT_NAME)
    workspace = attributes.get(_WORKSPACE_ID)
    if bot is None:
        return None if workspace is None else {_WORKSPACE_ID: workspace}
    return {_BOT_NAME: bot} if workspace is None else {_BOT_NAME: bot, _WORKSPACE_ID: workspace}


def _adopt(span: Span, adoption: Adoption) -> None:
    span.set_attributes(adoption.stamp)
    if adoption.started is not None:
        adoption.started.append(span)
    copy_of = adoption.copy_of
    if copy_of is not None and copy_of != trace.format_span_id(span.context.span_id):
        span.set_attribute(sc.WORKLOG_DUPLICATE_OF, copy_of)
    for context, attributes in adoption.links:
        span.add_link(context, attributes)


def _record_delegation(
    span: Span, parent_context: otel_context.Context | None, caller: str, callee: str, stamp: Mapping[str, Any]
) -> None:
    """An agent run started inside another agent's work is a handoff from that agent: span and link."""
    tracer = STATE.tracer
    if tracer is None:
        return
    attributes: dict[str, Any] = {
        sc.WORKLOG_HANDOFF_FROM: caller,
        sc.WORKLOG_HANDOFF_TO: callee,
        sc.BOT_NAME: caller,
    }
    if sc.WORKSPACE_ID in stamp:
        attributes[sc.WORKSPACE_ID] = stamp[sc.WORKSPACE_ID]
    start = (span.start_time or time.time_ns()) - 1
    handoff = tracer.start_span(
        sc.SPAN_HANDOFF.format(from_bot=caller, to_bot=callee),
        context=parent_context,
        attributes=attributes,
        start_time=start,
    )
    handoff.add_event(
        sc.event_name("handoff"),
        {
            sc.WORKLOG_LEVEL: "handoff",
            sc.WORKLOG_CATEGORY: sc.CATEGORY_HANDOFF,
            sc.WORKLOG_MESSAGE: f"{caller} -> {callee}",
            sc.WORKLOG_MENTIONS: [callee],
        },
        timestamp=start,
    )
    handoff.end(start)
    span.add_link(handoff.get_span_context(), {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF})


def flush_children(children: Iterable[SpanProcessor], timeout_s: float) -> bool:
    """Flush each child, all within ``timeout_s``; False when one of them did not finish.

    A processor with nothing to flush may answer None (the SDK's base class does in older releases): done.
    """
    deadline = time.monotonic() + timeout_s
    ok = True
    for child in children:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        try:
            flushed = child.force_flush(remaining_ms)
            ok = (flushed is None or bool(flushed)) and ok
        except Exception:
            log_internal_error()
            ok = False
    return ok


def shutdown_children(children: Iterable[SpanProcessor], timeout_s: float) -> None:
    """Shut each child down, all within ``timeout_s`` (children that take a deadline share it)."""
    deadline = time.monotonic() + timeout_s
    for child in children:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        try:
            if isinstance(child, BoundedBatchSpanProcessor):
                child.shutdown(remaining_ms)
            elif isinstance(child, Deadlined):
                child.shutdown_by(deadline)
            else:
                child.shutdown()
        except Exception:
            log_internal_error()
