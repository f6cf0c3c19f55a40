"""otel_worklog: OpenTelemetry instrumentation for teams of AI agents.

Work-log entries become span events, bots and tools become spans, handoffs
become linked spans and escalations become spans that alerts key on::

    import otel_worklog as wl

    wl.configure(service_name="my-bots")
    with wl.workspace("#general", type="open", query="What's the weather?"):
        with wl.bot("nanobot"):
            wl.decision("Calling the weather API", confidence=0.95)

Names are imported on first use, so ``import otel_worklog`` (and the
``otel-worklog`` CLI, which reads traces but records none) starts fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from otel_worklog._internal.version import __version__

if TYPE_CHECKING:
    from otel_worklog._internal.pipeline.batch import ExportStats
    from otel_worklog._internal.pipeline.configure import configure, export_stats, force_flush, shutdown
    from otel_worklog._internal.pipeline.detectors.alerts import Alert, on_alert
    from otel_worklog._internal.pipeline.insights import Insight, on_insight
    from otel_worklog._internal.pipeline.sampling import WorklogSampler
    from otel_worklog._internal.record.decorators import agent, tool
    from otel_worklog._internal.record.entries import (
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
    from otel_worklog._internal.record.executors import ThreadPoolExecutor, with_context
    from otel_worklog._internal.record.handoff import Handoff, handoff
    from otel_worklog._internal.record.instrument import instrument, uninstrument
    from otel_worklog._internal.record.spans import bot, workspace
    from otel_worklog._internal.render.response import format_response, to_agent_artifact

_SOURCES: dict[str, str] = {
    "Alert": "otel_worklog._internal.pipeline.detectors.alerts",
    "Escalation": "otel_worklog._internal.record.entries",
    "ExportStats": "otel_worklog._internal.pipeline.batch",
    "Handoff": "otel_worklog._internal.record.handoff",
    "Insight": "otel_worklog._internal.pipeline.insights",
    "ThreadPoolExecutor": "otel_worklog._internal.record.executors",
    "WorklogSampler": "otel_worklog._internal.pipeline.sampling",
    "agent": "otel_worklog._internal.record.decorators",
    "bot": "otel_worklog._internal.record.spans",
    "configure": "otel_worklog._internal.pipeline.configure",
    "correction": "otel_worklog._internal.record.entries",
    "decision": "otel_worklog._internal.record.entries",
    "error": "otel_worklog._internal.record.entries",
    "escalate": "otel_worklog._internal.record.entries",
    "export_stats": "otel_worklog._internal.pipeline.configure",
    "force_flush": "otel_worklog._internal.pipeline.configure",
    "format_response": "otel_worklog._internal.render.response",
    "handoff": "otel_worklog._internal.record.handoff",
    "info": "otel_worklog._internal.record.entries",
    "insight": "otel_worklog._internal.record.entries",
    "instrument": "otel_worklog._internal.record.instrument",
    "log": "otel_worklog._internal.record.entries",
    "message": "otel_worklog._internal.record.entries",
    "on_alert": "otel_worklog._internal.pipeline.detectors.alerts",
    "on_insight": "otel_worklog._internal.pipeline.insights",
    "shutdown": "otel_worklog._internal.pipeline.configure",
    "thinking": "otel_worklog._internal.record.entries",
    "to_agent_artifact": "otel_worklog._internal.render.response",
    "tool": "otel_worklog._internal.record.decorators",
    "uncertainty": "otel_worklog._internal.record.entries",
    "uninstrument": "otel_worklog._internal.record.instrument",
    "warning": "otel_worklog._internal.record.entries",
    "with_context": "otel_worklog._internal.record.executors",
    "workspace": "otel_worklog._internal.record.spans",
}

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
    "format_response",
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
    "to_agent_artifact",
    "tool",
    "uncertainty",
    "uninstrument",
    "warning",
    "with_context",
    "workspace",
]


def __getattr__(name: str) -> Any:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module 'otel_worklog' has no attribute {name!r}")
    value = getattr(importlib.import_module(source), name)
    globals()[name] = value  # later lookups are plain module attributes: no cost on the hot path
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
