"""Alerts: what a detector found, as a dataclass for callbacks and as an ``alert {kind}`` span.

The span makes an alert searchable next to the work that caused it (same trace, same workspace),
and lets the stack alert on it; the callbacks let an app react at once (notify someone, restart a
bot), like a monitor reacting to an alerts file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline.callbacks import CallbackRegistry

logger = logging.getLogger("otel_worklog")

#: The work analyzer's interventions, one per detector.
RECOMMENDATIONS: Final = {
    "error_loop": "trigger_ai_autofix",
    "tool_loop": "fresh_session",
    "stuck_agent": "health_check",
    "cost_anomaly": "review_prompt_efficiency",
    "low_confidence_streak": "request_clarification",
}


@dataclass(frozen=True)
class Alert:
    """One detector finding. ``key`` identifies the condition; it is not raised again until it clears."""

    kind: str
    recommendation: str
    message: str
    key: tuple[str, ...]
    bot: str | None = None
    workspace_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    time_ns: int = 0
    evidence: Mapping[str, Any] = field(default_factory=dict)

    def evidence_json(self) -> str:
        return json.dumps(dict(self.evidence), sort_keys=True, default=str)


AlertCallback = Callable[[Alert], Any]

#: Alert callbacks (all under the key None: every callback gets every alert).
ALERT_CALLBACKS: Final[CallbackRegistry[Alert]] = CallbackRegistry("on_alert")


def on_alert(callback: AlertCallback) -> AlertCallback:
    """Call ``callback(alert)`` for every detector alert; usable as a decorator. A raising callback is logged."""
    ALERT_CALLBACKS.add(callback)
    return callback


def remove_alert_callback(callback: AlertCallback) -> None:
    """Stop calling ``callback``; unknown callbacks are ignored."""
    ALERT_CALLBACKS.remove(callback)


def clear_alert_callbacks() -> None:
    """Forget every callback (tests and reconfiguration)."""
    ALERT_CALLBACKS.clear()


def notify(alert: Alert) -> None:
    """Run every callback; one that raises is logged and the others still run."""
    ALERT_CALLBACKS.notify(alert)


def emit_span(tracer: trace.Tracer, alert: Alert) -> None:
    """Record ``alert`` as an ``alert {kind}`` span, a child of the span that showed the problem."""
    attributes: dict[str, Any] = {
        sc.WORKLOG_ALERT_KIND: alert.kind,
        sc.WORKLOG_ALERT_RECOMMENDATION: alert.recommendation,
        sc.WORKLOG_ALERT_EVIDENCE: alert.evidence_json(),
        sc.WORKLOG_MESSAGE: alert.message,
    }
    if alert.workspace_id is not None:
        attributes[sc.WORKSPACE_ID] = alert.workspace_id
    if alert.bot is not None:
        attributes[sc.BOT_NAME] = alert.bot
    context = None
    if alert.trace_id and alert.span_id:
        parent = SpanContext(
            trace_id=int(alert.trace_id, 16),
            span_id=int(alert.span_id, 16),
            is_remote=False,
            trace_flags=TraceFlags(TraceFlags.SAMPLED),
        )
        context = trace.set_span_in_context(NonRecordingSpan(parent))
    span = tracer.start_span(sc.SPAN_ALERT.format(kind=alert.kind), context=context, attributes=attributes)
    span.end()
