"""Record pydantic-ai runs as work logs (``pip install 'otel-worklog[pydantic-ai]'``)::

import otel_worklog as wl
from otel_worklog.integrations import pydantic_ai

wl.configure(service_name="support")
pydantic_ai.instrument()
"""

from __future__ import annotations

from opentelemetry import trace

from otel_worklog._internal.integrations.pydantic_ai import INSTRUMENTOR

__all__ = ["instrument", "uninstrument"]


def instrument(*, tracer_provider: trace.TracerProvider | None = None) -> None:
    """Turn on pydantic-ai's own spans for every agent and adopt them as bots and tool calls (idempotent)."""
    INSTRUMENTOR.instrument(tracer_provider)


def uninstrument() -> None:
    """Stop recording and put pydantic-ai's instrumentation default back as it was (idempotent)."""
    INSTRUMENTOR.uninstrument()
