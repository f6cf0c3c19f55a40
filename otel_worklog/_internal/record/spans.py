"""The workspace and bot spans, and how any otel_worklog span records a failure.

``wl.workspace`` and ``wl.bot`` share one start/end. ``start()`` makes the span and its scope
current; ``end()`` ends the span and, only when the current context is still the one ``start()``
made, puts back what was current before, skipping contexts whose span has already ended. It never
resets a context token, so it is safe to call from another callback, task or thread, and in any
order: a span that ended never becomes current again.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Final, Self

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Status, StatusCode

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.record.entries import _string_list
from otel_worklog._internal.record.handoff import Handoff, receive
from otel_worklog._internal.record.ledger import LEDGER_KEY, EventLedger
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope, WorkspaceState, current_scope
from otel_worklog._internal.record.serialize import clean_text, safe_repr
from otel_worklog._internal.record.state import STATE, active_tracer

logger = logging.getLogger("otel_worklog")

PLACEHOLDER_WORKSPACE_ID: Final = "unknown-workspace"
_WORKSPACE_TYPES: Final = frozenset(sc.WORKSPACE_TYPES)


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return safe_repr(exc)


def record_error(span: trace.Span, exc: BaseException) -> None:
    """Mark ``span`` failed by ``exc``: status ERROR, ``error.type`` and a redacted exception event."""
    try:
        content = STATE.config.content
        message = content.text(_safe_str(exc)).text
        stack = content.text("".join(traceback.format_exception(exc))).text
        exc_type = type(exc)
        module = exc_type.__module__
        qualified = exc_type.__qualname__ if module in ("builtins", "__main__") else f"{module}.{exc_type.__qualname__}"
        span.add_event(
            "exception",
            {
                "exception.type": qualified,
                "exception.message": message,
                "exception.stacktrace": stack,
                "exception.escaped": True,
            },
        )
        span.set_attribute(sc.ERROR_TYPE, exc_type.__name__)
        span.set_status(Status(StatusCode.ERROR, f"{exc_type.__name__}: {message}"))
    except Exception:
        log_internal_error()


def _clean_workspace_id(workspace_id: Any) -> tuple[str, str | None]:
    if isinstance(workspace_id, str) and workspace_id.strip():
        return clean_text(workspace_id), None
    invalid = safe_repr(workspace_id)
    logger.warning(
        "otel_worklog: workspace id must be a non-empty string, got %s; recording it under %r",
        invalid,
        PLACEHOLDER_WORKSPACE_ID,
    )
    return PLACEHOLDER_WORKSPACE_ID, invalid


def _clean_name(value: Any, what: str) -> str:
    if isinstance(value, str) and value:
        return clean_text(value)
    logger.warning("otel_worklog: %s must be a non-empty string, got %s", what, safe_repr(value))
    return safe_repr(value) or "unknown"


class _Activation(EventLedger):
    """One ``start()``, the ledger of its span: the context current before it, and whether it has ended."""

    __slots__ = ("ended", "previous")

    def __init__(self, span: trace.Span, tracer: trace.Tracer, previous: Context) -> None:
        EventLedger.__init__(self, span, _span_name(span), tracer)
        self.previous = previous
        self.ended = False


def _resume_point(previous: Context) -> Context:
    """``previous``, or, when an ended start() made it, the nearest context before it whose span is live."""
    ctx = previous
    while True:
        activation = ctx.get(LEDGER_KEY)
        if (
            not isinstance(activation, _Activation)
            or not activation.ended
            or trace.get_current_span(ctx) is not activation.span
        ):
            return ctx
        ctx = activation.previous


class _ActiveSpan:
    """A span made current by ``start()`` (or ``with``) and ended by ``end()``, whatever order ends come in."""

    __slots__ = ("_activation", "_ctx", "_ids", "_nested", "_provider", "_span")

    def __init__(self, tracer_provider: trace.TracerProvider | None) -> None:
        self._provider = tracer_provider
        self._span: trace.Span | None = None
        self._ctx: Context | None = None
        self._activation: _Activation | None = None
        self._ids: trace.SpanContext = trace.INVALID_SPAN_CONTEXT
        self._nested = 0

    def _open(self, tracer: trace.Tracer, parent: Context) -> tuple[trace.Span, Context]:
        """Start the span under ``parent``; returns it and the context (with its scope) it runs in."""
        raise NotImplementedError

    def start(self) -> Self:
        """Start the span and make it and its scope current; ``end()`` ends it, from any callback or task."""
        self._start()
        return self

    def _start(self) -> bool:
        """Start unless already started; False when refused because this object is still open."""
        if self._activation is not None and not self._activation.ended:
            logger.warning(
                "otel_worklog: %s is already started; a second start is ignored (use a new object to nest)",
                type(self).__name__,
            )
            return False
        tracer = active_tracer(self._provider)
        if tracer is None:
            return True
        try:
            previous = otel_context.get_current()
            span, scope_ctx = self._open(tracer, previous)
            activation = _Activation(span, tracer, previous)
            ctx = activation.context(scope_ctx)
            self._span, self._ctx, self._activation = span, ctx, activation
            self._ids = span.get_span_context()
            otel_context.attach(ctx)
        except Exception:
            log_internal_error()
        return True

    def end(self, exc: BaseException | None = None) -> None:
        """End the span (failed by ``exc`` when it is an Exception); a second call does nothing."""
        activation, ctx, span = self._activation, self._ctx, self._span
        if activation is None or activation.ended:
            return
        activation.ended = True
        self._ctx = self._span = None
        try:
            if ctx is not None and otel_context.get_current() is ctx:
                otel_context.attach(_resume_point(activation.previous))
            if span is not None:
                if isinstance(exc, Exception):
                    record_error(span, exc)
                activation.close()
                span.end()
        except Exception:
            log_internal_error()

    def __enter__(self) -> Self:
        if not self._start():
            self._nested += 1
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._nested:
            self._nested -= 1
            return
        self.end(exc)

    @property
    def span(self) -> trace.Span:
        """The span while it is open (a non-recording span when otel_worklog is not configured)."""
        return self._span or trace.INVALID_SPAN

    @property
    def trace_id(self) -> str:
        """Hex trace id of the span (also after it ends; zeros when not recording)."""
        return trace.format_trace_id(self._ids.trace_id)


def _span_name(span: trace.Span) -> str:
    name = getattr(span, "name", None)
    return name if isinstance(name, str) else type(span).__name__


class workspace(_ActiveSpan):
    """Open the root span ``workspace {id}`` for one workspace session."""

    __slots__ = ("_attributes", "_state")

    def __init__(
        self,
        workspace_id: str,
        *,
        type: str = "open",
        participants: Iterable[str] = (),
        coordinator: str | None = None,
        query: str | None = None,
        estimated_duration_s: float | None = None,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        super().__init__(tracer_provider)
        self._state: WorkspaceState | None = None
        self._attributes: tuple[Any, ...] = (workspace_id, type, participants, coordinator, query, estimated_duration_s)

    @property
    def id(self) -> str | None:
        return self._state.id if self._state is not None else None

    def _open(self, tracer: trace.Tracer, parent: Context) -> tuple[trace.Span, Context]:
        workspace_id, ws_type, participants, coordinator, query, estimate = self._attributes
        ws_id, invalid = _clean_workspace_id(workspace_id)
        if type(ws_type) is not str or ws_type not in _WORKSPACE_TYPES:
            logger.warning("otel_worklog: workspace type must be one of %s, got %s", sc.WORKSPACE_TYPES, ws_type)
            ws_type = "open"
        bots = tuple(_string_list(participants))
        state = WorkspaceState(
            id=ws_id,
            type=ws_type,
            participants=bots,
            coordinator=clean_text(coordinator) if isinstance(coordinator, str) else None,
        )
        attributes: dict[str, Any] = {
            sc.WORKSPACE_ID: ws_id,
            sc.WORKSPACE_TYPE: ws_type,
            sc.WORKSPACE_PARTICIPANTS: list(bots),
        }
        if invalid is not None:
            attributes[sc.WORKSPACE_ID_INVALID] = invalid
        if coordinator is not None:
            attributes[sc.WORKSPACE_COORDINATOR] = _clean_name(coordinator, "coordinator")
        if query is not None:
            attributes[sc.WORKLOG_QUERY] = STATE.config.content.text(
                query if isinstance(query, str) else safe_repr(query)
            ).text
        if isinstance(estimate, int | float) and not isinstance(estimate, bool) and estimate > 0:
            attributes[sc.WORKSPACE_ESTIMATED_DURATION_S] = float(estimate)
        outer = current_scope(parent)
        scope = Scope.make(state, outer.bot_name if outer else None, outer.bot_role if outer else None)
        ctx = otel_context.set_value(SCOPE_KEY, scope, parent)
        span = tracer.start_span(sc.SPAN_WORKSPACE.format(workspace_id=ws_id), context=ctx, attributes=attributes)
        state.live.add(span)
        self._state = state
        return span, ctx


def _text(value: Any) -> str:
    return clean_text(value) if isinstance(value, str) else safe_repr(value)


def open_bot_span(
    tracer: trace.Tracer,
    parent: Context,
    name: str,
    *,
    role: Any = None,
    triggered_by: Any = None,
    handoff: Any = None,
    new_trace: bool = False,
    default_trigger: str | None = None,
) -> tuple[trace.Span, Context]:
    """Start the bot span ``invoke_agent {name}`` under ``parent``; returns it and the context with its scope.

    The one way a bot span starts, for ``wl.bot`` and ``@wl.agent`` alike. ``triggered_by`` is, in
    order: the argument, the bot that sent the handoff, then ``default_trigger``.
    """
    outer = current_scope(parent)
    workspace_state = outer.workspace if outer else None
    links: list[Link] = []
    attributes: dict[str, Any] = {
        sc.BOT_NAME: name,
        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
        sc.GEN_AI_AGENT_NAME: name,
    }
    if role is not None:
        attributes[sc.BOT_ROLE] = _text(role)
    if handoff is not None:
        received = receive(handoff)
        if received is None:
            attributes[sc.WORKLOG_HANDOFF_INVALID] = True
        else:
            links.append(Link(received.parent, {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF}))
            if workspace_state is None:
                workspace_state = received.workspace
            if triggered_by is None and received.from_bot:
                triggered_by = received.from_bot
            if not new_trace:
                parent = trace.set_span_in_context(trace.NonRecordingSpan(received.parent), parent)
    if new_trace:
        parent = Context()
    triggered_by = triggered_by if triggered_by is not None else default_trigger
    if triggered_by is not None:
        attributes[sc.BOT_TRIGGERED_BY] = _text(triggered_by)
    scope = Scope.make(workspace_state, name, attributes.get(sc.BOT_ROLE))
    ctx = otel_context.set_value(SCOPE_KEY, scope, parent)
    span = tracer.start_span(sc.SPAN_INVOKE_AGENT.format(name=name), context=ctx, attributes=attributes, links=links)
    if workspace_state is not None:
        workspace_state.live.add(span)
    return span, ctx


class bot(_ActiveSpan):
    """Open the span ``invoke_agent {name}``: everything inside is this bot's work."""

    __slots__ = ("_handoff", "_name", "_new_trace", "_role", "_triggered_by")

    def __init__(
        self,
        name: str,
        *,
        role: str | None = None,
        triggered_by: str | None = None,
        handoff: Handoff | dict[str, str] | str | None = None,
        new_trace: bool = False,
        tracer_provider: trace.TracerProvider | None = None,
    ) -> None:
        super().__init__(tracer_provider)
        self._name = name
        self._role = role
        self._triggered_by = triggered_by
        self._handoff = handoff
        self._new_trace = new_trace

    def _open(self, tracer: trace.Tracer, parent: Context) -> tuple[trace.Span, Context]:
        return open_bot_span(
            tracer,
            parent,
            _clean_name(self._name, "bot name"),
            role=self._role,
            triggered_by=self._triggered_by,
            handoff=self._handoff,
            new_trace=self._new_trace,
        )
