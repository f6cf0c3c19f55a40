"""Spans made by the real SDK, on a provider of their own, for tests that hand them to a component."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from otel_worklog import semconv as sc


@contextlib.contextmanager
def finished_spans() -> Iterator[tuple[Tracer, list[ReadableSpan]]]:
    """A tracer, and a list that holds every span it finished, in the order they ended, once the block ends."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    spans: list[ReadableSpan] = []
    try:
        yield provider.get_tracer(sc.INSTRUMENTATION_SCOPE), spans
    finally:
        spans.extend(memory.get_finished_spans())
        provider.shutdown()
