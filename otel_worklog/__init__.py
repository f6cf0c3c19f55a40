"""otel_worklog: OpenTelemetry instrumentation for teams of AI agents.

Work-log entries become span events, bots and tools become spans, handoffs
become linked spans and escalations become spans that alerts key on::

    import otel_worklog as wl

    wl.configure(service_name="my-bots")
    with wl.workspace("#general", type="open", query="What's the weather?"):
        with wl.bot("nanobot"):
            wl.decision("Calling the weather API", confidence=0.95)
"""

from otel_worklog._internal.batch import ExportStats
from otel_worklog._internal.config import configure, export_stats, force_flush, shutdown
from otel_worklog._internal.decorators import agent, tool
from otel_worklog._internal.detectors.alerts import Alert, on_alert
from otel_worklog._internal.executors import ThreadPoolExecutor, with_context
from otel_worklog._internal.handoff import Handoff, handoff
from otel_worklog._internal.insights import Insight, on_insight
from otel_worklog._internal.instrumentor import instrument, uninstrument
from otel_worklog._internal.sampling import WorklogSampler
from otel_worklog._internal.spans import bot, workspace
from otel_worklog._internal.version import __version__
from otel_worklog._internal.worklog import (
    Escalation,
    correction,
    decision,
    error,
    escalate,
    info,
    insight,
    log,
    message,
    thinking,
    uncertainty,
    warning,
)

__all__ = [
    "Alert",
    "Escalation",
    "ExportStats",
    "Handoff",
    "Insight",
    "ThreadPoolExecutor",
    "WorklogSampler",
    "__version__",
    "agent",
    "bot",
    "configure",
    "correction",
    "decision",
    "error",
    "escalate",
    "export_stats",
    "force_flush",
    "handoff",
    "info",
    "insight",
    "instrument",
    "log",
    "message",
    "on_alert",
    "on_insight",
    "shutdown",
    "thinking",
    "tool",
    "uncertainty",
    "uninstrument",
    "warning",
    "with_context",
    "workspace",
]
