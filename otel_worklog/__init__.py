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
    from otel_worklog._internal.views.response import format_response, to_agent_artifact
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

_SOURCES: dict[str, str] = {
    "Alert": "otel_worklog._internal.detectors.alerts",
    "Escalation": "otel_worklog._internal.worklog",
    "ExportStats": "otel_worklog._internal.batch",
    "Handoff": "otel_worklog._internal.handoff",
    "Insight": "otel_worklog._internal.insights",
    "ThreadPoolExecutor": "otel_worklog._internal.executors",
    "WorklogSampler": "otel_worklog._internal.sampling",
    "agent": "otel_worklog._internal.decorators",
    "bot": "otel_worklog._internal.spans",
    "configure": "otel_worklog._internal.config",
    "correction": "otel_worklog._internal.worklog",
    "decision": "otel_worklog._internal.worklog",
    "error": "otel_worklog._internal.worklog",
    "escalate": "otel_worklog._internal.worklog",
    "export_stats": "otel_worklog._internal.config",
    "force_flush": "otel_worklog._internal.config",
    "format_response": "otel_worklog._internal.views.response",
    "handoff": "otel_worklog._internal.handoff",
    "info": "otel_worklog._internal.worklog",
    "insight": "otel_worklog._internal.worklog",
    "instrument": "otel_worklog._internal.instrumentor",
    "log": "otel_worklog._internal.worklog",
    "message": "otel_worklog._internal.worklog",
    "on_alert": "otel_worklog._internal.detectors.alerts",
    "on_insight": "otel_worklog._internal.insights",
    "shutdown": "otel_worklog._internal.config",
    "thinking": "otel_worklog._internal.worklog",
    "to_agent_artifact": "otel_worklog._internal.views.response",
    "tool": "otel_worklog._internal.decorators",
    "uncertainty": "otel_worklog._internal.worklog",
    "uninstrument": "otel_worklog._internal.instrumentor",
    "warning": "otel_worklog._internal.worklog",
    "with_context": "otel_worklog._internal.executors",
    "workspace": "otel_worklog._internal.spans",
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
