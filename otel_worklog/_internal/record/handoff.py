"""Handoffs: work passing from one bot to another, in this thread or another process.

The sender records a finished ``handoff {from} -> {to}`` span and gets a W3C
carrier (``traceparent``, ``tracestate``, ``baggage``) that is plain JSON, so it
can travel inside a queue message, a file or a bot-to-bot chat. The receiver
passes it to ``wl.bot(name, handoff=...)``: its span continues the trace under
the handoff span and links to it. The workspace rides in the baggage, so a bot
in another process still stamps ``workspace.id`` on everything it does.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.record.entries import _string_list
from otel_worklog._internal.record.scope import WorkspaceState, current_scope, new_epoch, next_step
from otel_worklog._internal.record.serialize import clean_text, safe_repr
from otel_worklog._internal.record.state import STATE, active_tracer

logger = logging.getLogger("otel_worklog")

_TRACE_CONTEXT: Final = TraceContextTextMapPropagator()
_BAGGAGE: Final = W3CBaggagePropagator()
_CARRIER_KEYS: Final = ("traceparent", "tracestate", "baggage")
# Baggage keys of the workspace that travels with a handoff.
_BAG_WORKSPACE_ID: Final = sc.WORKSPACE_ID
_BAG_WORKSPACE_TYPE: Final = sc.WORKSPACE_TYPE
_BAG_FROM: Final = sc.WORKLOG_HANDOFF_FROM
_BAG_STEP: Final = sc.WORKLOG_STEP


@dataclass(frozen=True, slots=True)
class Handoff:
    """The result of :func:`handoff`: hand it (or its ``carrier``) to the receiving bot."""

    from_bot: str
    to_bot: str
    artifacts: tuple[str, ...] = ()
    reason: str | None = None
    step: int = 0
    carrier: dict[str, str] = field(default_factory=dict)
    span_context: trace.SpanContext | None = None
    workspace: WorkspaceState | None = None

    def to_json(self) -> str:
        """The carrier as JSON, for a queue message or a subprocess argument."""
        return json.dumps(self.carrier)


@dataclass(frozen=True, slots=True)
class Received:
    """What the receiving side learned from a handoff."""

    parent: trace.SpanContext
    workspace: WorkspaceState | None
    from_bot: str | None


def handoff(
    to: str,
    *,
    artifacts: Iterable[str] = (),
    reason: str | None = None,
    tracer_provider: trace.TracerProvider | None = None,
) -> Handoff:
    """Record a finished handoff span from the current bot to ``to`` and return its carrier."""
    tracer = active_tracer(tracer_provider)
    to_bot = clean_text(to) if isinstance(to, str) and to else safe_repr(to)
    if tracer is None:
        return Handoff(from_bot="", to_bot=to_bot)
    try:
        return _handoff(tracer, to_bot, artifacts, reason)
    except Exception:
        log_internal_error()
        return Handoff(from_bot="", to_bot=to_bot)


def _handoff(tracer: trace.Tracer, to_bot: str, artifacts: Iterable[str], reason: str | None) -> Handoff:
    ctx = otel_context.get_current()
    scope = current_scope(ctx)
    from_bot = (scope.bot_name if scope is not None else None) or "unknown"
    content = STATE.config.content
    artifact_list = _string_list(artifacts)
    reason_text = (
        None if reason is None else content.text(reason if isinstance(reason, str) else safe_repr(reason)).text
    )
    step = next_step(scope)
    attributes: dict[str, Any] = {
        sc.WORKLOG_HANDOFF_FROM: from_bot,
        sc.WORKLOG_HANDOFF_TO: to_bot,
        sc.WORKLOG_HANDOFF_ARTIFACTS: artifact_list,
        sc.WORKLOG_STEP: step,
    }
    if reason_text:
        attributes[sc.WORKLOG_HANDOFF_REASON] = reason_text
    span = tracer.start_span(
        sc.SPAN_HANDOFF.format(from_bot=from_bot, to_bot=to_bot), context=ctx, attributes=attributes
    )
    message = f"{from_bot} -> {to_bot}" + (f": {reason_text}" if reason_text else "")
    span.add_event(
        sc.event_name("handoff"),
        {
            sc.WORKLOG_LEVEL: "handoff",
            sc.WORKLOG_CATEGORY: sc.CATEGORY_HANDOFF,
            sc.WORKLOG_MESSAGE: message,
            sc.WORKLOG_STEP: step,
            sc.WORKLOG_MENTIONS: [to_bot],
        },
    )
    span_ctx = trace.set_span_in_context(span, ctx)
    workspace = scope.workspace if scope is not None else None
    if workspace is not None:
        span_ctx = baggage.set_baggage(_BAG_WORKSPACE_ID, workspace.id, span_ctx)
        span_ctx = baggage.set_baggage(_BAG_WORKSPACE_TYPE, workspace.type, span_ctx)
    span_ctx = baggage.set_baggage(_BAG_FROM, from_bot, span_ctx)
    span_ctx = baggage.set_baggage(_BAG_STEP, str(step), span_ctx)
    carrier: dict[str, str] = {}
    _TRACE_CONTEXT.inject(carrier, span_ctx)
    _BAGGAGE.inject(carrier, span_ctx)
    span.end()
    return Handoff(
        from_bot=from_bot,
        to_bot=to_bot,
        artifacts=tuple(artifact_list),
        reason=reason_text,
        step=step,
        carrier=carrier,
        span_context=span.get_span_context(),
        workspace=workspace,
    )


def receive(value: Any) -> Received | None:
    """Read a handoff (object, carrier dict or its JSON); None, with a warning, when it is unusable."""
    if isinstance(value, Handoff):
        if value.span_context is not None and value.span_context.is_valid:
            return Received(value.span_context, value.workspace, value.from_bot)
        value = value.carrier
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            logger.warning("otel_worklog: handoff carrier is not JSON; the bot starts without the handoff link")
            return None
    if not isinstance(value, Mapping):
        logger.warning(
            "otel_worklog: handoff must be a Handoff or its carrier dict, got %s; the bot starts without the link",
            type(value).__name__,
        )
        return None
    carrier = {
        k: clean_text(v) for k, v in value.items() if type(k) is str and k in _CARRIER_KEYS and isinstance(v, str)
    }
    try:
        extracted = _BAGGAGE.extract(carrier, _TRACE_CONTEXT.extract(carrier, Context()))
    except Exception:
        log_internal_error()
        return None
    parent = trace.get_current_span(extracted).get_span_context()
    if not parent.is_valid:
        logger.warning("otel_worklog: handoff carrier has no valid traceparent; the bot starts without the link")
        return None
    workspace = None
    workspace_id = baggage.get_baggage(_BAG_WORKSPACE_ID, extracted)
    if isinstance(workspace_id, str) and workspace_id:
        workspace_type = baggage.get_baggage(_BAG_WORKSPACE_TYPE, extracted)
        step = baggage.get_baggage(_BAG_STEP, extracted)
        start = int(step) + 1 if isinstance(step, str) and step.isdigit() else 1
        workspace = WorkspaceState(
            id=workspace_id,
            type=workspace_type if isinstance(workspace_type, str) else "open",
            steps=itertools.count(start),
            epoch=new_epoch(),
        )
    from_bot = baggage.get_baggage(_BAG_FROM, extracted)
    return Received(parent, workspace, from_bot if isinstance(from_bot, str) else None)
