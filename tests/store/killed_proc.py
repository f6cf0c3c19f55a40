"""Writes batches into a store forever (until killed): ``python -m tests.store.killed_proc STORE``."""

from __future__ import annotations

import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.store.exporter import StoreSpanExporter


def main() -> None:
    exporter = StoreSpanExporter(__import__("pathlib").Path(sys.argv[1]))
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    n = 0
    while True:
        with tracer.start_as_current_span("workspace #kill", attributes={sc.WORKSPACE_ID: "#kill"}):
            for i in range(400):
                with tracer.start_as_current_span("execute_tool x", attributes={sc.BOT_NAME: "b"}) as span:
                    span.add_event(
                        sc.event_name("info"),
                        {sc.WORKLOG_LEVEL: "info", sc.WORKLOG_MESSAGE: f"message {n} {i} " + "x" * 500},
                    )
        exporter.export(memory.get_finished_spans())
        memory.clear()
        n += 1
        if n == 1:
            print("ready", flush=True)


if __name__ == "__main__":
    main()
