"""The workspace and bot spans, and how any otel_worklog span records a failure."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Status, StatusCode

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.record.entries import _string_list
from otel_worklog._internal.record.handoff import Handoff, receive
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


class _ActiveSpan:
    """A span made current for a ``with`` block: one attach, one detach, always."""

    __slots__ = ("_ids", "_span", "_token")

    def __init__(self) -> None:
        self._span: trace.Span | None = None
        self._token: object | None = None
        self._ids: trace.SpanContext = trace.INVALID_SPAN_CONTEXT

    def _activate(self, span: trace.Span, ctx: Context) -> None:
        self._span = span
        self._ids = span.get_span_context()
        self._token = otel_context.attach(trace.set_span_in_context(span, ctx))

    def _deactivate(self, exc: BaseException | None) -> None:
        span, token = self._span, self._token
        self._span = self._token = None
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]
        if span is not None:
            if isinstance(exc, Exception):
                record_error(span, exc)
            span.end()

    @property
    def span(self) -> trace.Span:
        """The span of the block (a non-recording span when otel_worklog is not configured)."""
        return self._span or trace.INVALID_SPAN

    @property
    def trace_id(self) -> str:
        """Hex trace id of the block's span (also after the block ends; zeros when not recording)."""
        return trace.format_trace_id(self._ids.trace_id)


class workspace(_ActiveSpan):
    """Open the root span ``workspace {id}`` for one workspace session."""

    __slots__ = ("_attributes", "_provider", "_state")

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
        super().__init__()
        self._provider = tracer_provider
        self._state: WorkspaceState | None = None
        self._attributes: tuple[Any, ...] = (workspace_id, type, participants, coordinator, query, estimated_duration_s)

    @property
    def id(self) -> str | None:
        return self._state.id if self._state is not None else None

    def __enter__(self) -> workspace:
        tracer = active_tracer(self._provider)
        if tracer is None:
            return self
        try:
            self._start(tracer)
        except Exception:
            log_internal_error()
        return self

    def _start(self, tracer: trace.Tracer) -> None:
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
        parent = otel_context.get_current()
        outer = current_scope(parent)
        scope = Scope.make(state, outer.bot_name if outer else None, outer.bot_role if outer else None)
        ctx = otel_context.set_value(SCOPE_KEY, scope, parent)
        span = tracer.start_span(sc.SPAN_WORKSPACE.format(workspace_id=ws_id), context=ctx, attributes=attributes)
        self._state = state
        self._activate(span, ctx)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._deactivate(exc)
        except Exception:
            log_internal_error()


class bot(_ActiveSpan):
    """Open the span ``invoke_agent {name}``: everything inside is this bot's work."""

    __slots__ = ("_name", "_new_trace", "_options", "_provider")

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
        super().__init__()
        self._name = name
        self._options = (role, triggered_by, handoff)
        self._new_trace = new_trace
        self._provider = tracer_provider

    def __enter__(self) -> bot:
        tracer = active_tracer(self._provider)
        if tracer is None:
            return self
        try:
            self._start(tracer)
        except Exception:
            log_internal_error()
        return self

    def _start(self, tracer: trace.Tracer) -> None:
        role, triggered_by, handoff = self._options
        name = _clean_name(self._name, "bot name")
        parent = otel_context.get_current()
        outer = current_scope(parent)
        workspace_state = outer.workspace if outer else None
        links: list[Link] = []
        attributes: dict[str, Any] = {
            sc.BOT_NAME: name,
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
            sc.GEN_AI_AGENT_NAME: name,
        }
        if role is not None:
            attributes[sc.BOT_ROLE] = clean_text(role) if isinstance(role, str) else safe_repr(role)
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
                if not self._new_trace:
                    parent = trace.set_span_in_context(trace.NonRecordingSpan(received.parent), parent)
        if self._new_trace:
            parent = Context()
        if triggered_by is not None:
            attributes[sc.BOT_TRIGGERED_BY] = (
                clean_text(triggered_by) if isinstance(triggered_by, str) else safe_repr(triggered_by)
            )
        scope = Scope.make(workspace_state, name, attributes.get(sc.BOT_ROLE))
        ctx = otel_context.set_value(SCOPE_KEY, scope, parent)
        span = tracer.start_span(
            sc.SPAN_INVOKE_AGENT.format(name=name), context=ctx, attributes=attributes, links=links
        )
        self._activate(span, ctx)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._deactivate(exc)
        except Exception:
            log_internal_error()
