"""Test helpers for code instrumented with otel_worklog (a pytest plugin).

Installed with the package, so any test can ask for the ``worklog`` fixture::

    def test_my_bot_escalates(worklog):
        run_my_bot()
        assert worklog.span("escalation").attributes["worklog.escalation"] is True
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_worklog._internal.pipeline.configure import configure, force_flush, shutdown

__all__ = ["WorklogCapture", "worklog"]


class WorklogCapture:
    """otel_worklog configured against an in-memory exporter, with lookups for assertions."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self._settings: dict[str, Any] = {}
        self.configure()

    def configure(self, **settings: Any) -> TracerProvider:
        """(Re)configure with extra ``configure()`` settings; the exporter and provider stay."""
        self._settings = {"tracer_provider": self.provider, "exporters": [self.exporter], "store": False, **settings}
        result = configure(**self._settings)
        assert isinstance(result, TracerProvider)
        return result

    def spans(self) -> list[ReadableSpan]:
        """Every finished span so far, oldest first (by start time)."""
        force_flush()
        return sorted(self.exporter.get_finished_spans(), key=lambda s: s.start_time or 0)

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called ``name`` (fails if there are none or several)."""
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, f"expected one span named {name!r}, found {[s.name for s in self.spans()]}"
        return found[0]

    def events(self, level: str | None = None) -> list[tuple[ReadableSpan, Event]]:
        """Work-log entries as (span, event), in step order; ``level`` filters on ``worklog.level``."""
        found = [
            (span, event)
            for span in self.spans()
            for event in span.events
            if event.attributes and "worklog.level" in event.attributes
        ]
        if level is not None:
            found = [(s, e) for s, e in found if e.attributes and e.attributes.get("worklog.level") == level]
        return sorted(found, key=lambda pair: _step((pair[1].attributes or {}).get("worklog.step")))

    def clear(self) -> None:
        force_flush()
        self.exporter.clear()

    def close(self) -> None:
        shutdown()
        self.provider.shutdown()


def _step(value: object) -> int:
    return value if isinstance(value, int) else 0


@pytest.fixture
def worklog() -> Iterator[WorklogCapture]:
    """otel_worklog configured for this test only, capturing every span in memory."""
    capture = WorklogCapture()
    try:
        yield capture
    finally:
        capture.close()
