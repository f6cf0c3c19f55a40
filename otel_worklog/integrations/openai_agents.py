"""Record OpenAI Agents SDK runs as work logs (``pip install 'otel-worklog[openai-agents]'``)::

import otel_worklog as wl
from otel_worklog.integrations import openai_agents

wl.configure(service_name="support")
openai_agents.instrument()
"""

from __future__ import annotations

from opentelemetry import trace

from otel_worklog._internal.integrations.openai_agents import INSTRUMENTOR

__all__ = ["instrument", "uninstrument"]


def instrument(*, tracer_provider: trace.TracerProvider | None = None) -> None:
    """Record every agent turn, tool call, handoff, usage and tripped guardrail of the SDK's runs (idempotent)."""
    INSTRUMENTOR.instrument(tracer_provider)


def uninstrument() -> None:
    """Stop recording and put the SDK back as it was (idempotent)."""
    INSTRUMENTOR.uninstrument()
