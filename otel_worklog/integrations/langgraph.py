"""Record LangGraph (and LangChain) runs as work logs (``pip install 'otel-worklog[langgraph]'``)::

import otel_worklog as wl
from otel_worklog.integrations import langgraph

wl.configure(service_name="support")
langgraph.instrument()
"""

from __future__ import annotations

from opentelemetry import trace

from otel_worklog._internal.integrations.langgraph import INSTRUMENTOR

__all__ = ["instrument", "uninstrument"]


def instrument(*, tracer_provider: trace.TracerProvider | None = None) -> None:
    """Record every agent, tool call, handoff and model usage of LangGraph runs (idempotent)."""
    INSTRUMENTOR.instrument(tracer_provider)


def uninstrument() -> None:
    """Stop recording and put LangChain's callback dispatch back as it was (idempotent)."""
    INSTRUMENTOR.uninstrument()
