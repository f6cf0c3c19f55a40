"""Bursts: 50,000 spans made as fast as possible through the real OTLP/HTTP exporter.

A user checks two things. With the default settings, every span of the burst
reaches the collector (counted by decoding what the real receiver got). And when
they shrink the queue on purpose (``OTEL_WORKLOG_MAX_QUEUE_SIZE``), the overflow
is not silent: the drops are counted in ``wl.export_stats()`` and a warning says so.
"""

from __future__ import annotations

import logging

import pytest

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from tests.wire.conftest import PointAt
from tests.wire.receivers import OtlpHttpReceiver

BURST = 50_000


@wl.tool
def step(i: int) -> int:
    return i


def burst(spans: int) -> None:
    """One workspace whose tool calls, with the workspace span, make exactly ``spans`` spans."""
    with wl.workspace("ws-burst"):
        for i in range(spans - 1):
            step(i)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_burst_of_50000_spans_loses_none(http_receiver: OtlpHttpReceiver, point_at: PointAt) -> None:
    """Every one of 50,000 spans created back to back arrives at the collector, none dropped or failed."""
    point_at(http_receiver.endpoint, "http/protobuf")
    wl.configure(store=False)
    burst(BURST)
    assert wl.force_flush(120.0)
    assert http_receiver.wait_for_spans(BURST, 60.0) == BURST
    (otlp,) = wl.export_stats()
    assert (otlp.exported, otlp.dropped, otlp.failed, otlp.queued) == (BURST, 0, 0, 0)
    spans = http_receiver.spans()
    assert len({s.span.span_id for s in spans}) == BURST
    tools = [s for s in spans if s.name == sc.SPAN_EXECUTE_TOOL.format(name="step")]
    assert len(tools) == BURST - 1
    assert all(s.attributes[sc.WORKSPACE_ID] == "ws-burst" for s in tools)


@pytest.mark.timeout(120)
def test_overflow_of_a_tiny_queue_is_counted_and_reported(
    http_receiver: OtlpHttpReceiver, point_at: PointAt, caplog: pytest.LogCaptureFixture
) -> None:
    """With a 16-span queue, a 10,000-span burst drops spans: every span is either exported or counted as dropped."""
    spans = 10_000
    point_at(http_receiver.endpoint, "http/protobuf", OTEL_WORKLOG_MAX_QUEUE_SIZE="16")
    wl.configure(store=False)
    with caplog.at_level(logging.WARNING, logger="otel_worklog"):
        burst(spans)
        assert wl.force_flush(30.0)
        (otlp,) = wl.export_stats()
    assert otlp.dropped > 0, otlp
    assert otlp.failed == 0 and otlp.queued == 0, otlp
    assert otlp.exported + otlp.dropped == spans, otlp
    assert http_receiver.wait_for_spans(otlp.exported, 10.0) == otlp.exported
    assert http_receiver.span_count == otlp.exported
    drops = [r for r in caplog.records if r.name == "otel_worklog" and "dropped" in r.getMessage()]
    assert drops, [r.getMessage() for r in caplog.records]
    assert "OTEL_WORKLOG_MAX_QUEUE_SIZE" in drops[0].getMessage()
