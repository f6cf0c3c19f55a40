"""Long agent runs: nothing is abandoned silently, batches fit the backend, a slow callback holds nothing.

Against the real OTLP/HTTP receiver of ``tests/wire/receivers.py``, which decodes what arrives as a
collector would. The times asserted are hang checks with a generous margin.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

import otel_worklog as wl
from otel_worklog._internal.pipeline.sizing import OTLP_REQUEST
from tests.hardening.procs import shutdown_within
from tests.wire.receivers import OtlpHttpReceiver

pytestmark = pytest.mark.timeout(240)

#: The Python OTLP/HTTP exporter's own cap on one request (it drops a larger batch whole).
OTLP_HTTP_CAP = 64 * 1024 * 1024


@wl.tool
def step(item: int) -> int:
    return item


@wl.tool
def transform(document: str) -> str:
    return document.upper()


def point_at(receiver: OtlpHttpReceiver, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def test_spans_still_queued_at_the_deadline_are_counted_and_warned(
    never_answers: OtlpHttpReceiver, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """3,000 spans to a backend that never answers: shutdown(timeout_s=2) returns, and counts all 3,000."""
    point_at(never_answers, monkeypatch, OTEL_WORKLOG_MAX_EXPORT_BATCH_SIZE="512", OTEL_WORKLOG_EXPORT_TIMEOUT_S="30")
    wl.configure(store=False)
    with wl.workspace("#long"):
        for item in range(2_999):
            step(item)
    assert never_answers.wait_for_attempts(1) >= 1
    with caplog.at_level(logging.WARNING, logger="otel_worklog"):
        shutdown_within(2)
    (stats,) = wl.export_stats()
    assert stats.exported == 0 and stats.queued == 0, stats
    assert stats.abandoned + stats.failed + stats.dropped == 3_000, stats
    assert stats.abandoned >= 512, stats  # at least the batch stuck in its export
    warnings = [r.getMessage() for r in caplog.records if "not exported" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "at the shutdown deadline" in warnings[0] and "OTLPSpanExporter" in warnings[0]


def test_a_batch_too_big_for_one_request_is_split(
    http_receiver: OtlpHttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """2,048 spans carrying 20 KB arguments and results encode to more than 64 MiB: they all arrive."""
    point_at(http_receiver, monkeypatch, OTEL_WORKLOG_SCHEDULE_DELAY_MS="600000")  # one full batch, no partial ones
    wl.configure(store=False, max_value_length=32_768)
    document = ("lorem ipsum dolor sit amet " * 800)[:20_000]
    with wl.workspace("#big"), wl.bot("reader"):
        for _ in range(2_047):
            transform(document)
    assert wl.force_flush(timeout_s=120)
    (stats,) = wl.export_stats()
    assert (stats.exported, stats.failed, stats.dropped) == (2_049, 0, 0), stats
    assert http_receiver.wait_for_spans(2_049, 30) == 2_049
    sizes = [request.raw_size for request in http_receiver.requests]
    assert sum(sizes) > OTLP_HTTP_CAP  # the whole batch in one request would have been refused
    assert max(sizes) <= OTLP_REQUEST.most, sizes


@pytest.fixture
def slow_callback() -> Iterator[tuple[threading.Event, threading.Event]]:
    """(called, released): a callback sleeps until released (at most 20 s), as a slow notifier would."""
    called, released = threading.Event(), threading.Event()
    yield called, released
    released.set()


def tool_loop_with_a_slow_notifier(called: threading.Event, released: threading.Event) -> None:
    """Detectors on, an on_alert callback that sleeps, and a bot that calls one tool three times (a loop)."""

    def notifier(alert: wl.Alert) -> None:
        called.set()
        released.wait(20)

    wl.configure(store=False, detectors={"tool_loop": {"threshold": 3}})
    wl.on_alert(notifier)
    with wl.workspace("#w"), wl.bot("b"):
        for _ in range(3):
            step(1)


def test_a_slow_on_alert_callback_does_not_hold_shutdown(
    slow_callback: tuple[threading.Event, threading.Event],
) -> None:
    tool_loop_with_a_slow_notifier(*slow_callback)
    assert slow_callback[0].wait(10)  # the watchdog examined the loop and is inside the callback now
    shutdown_within(2)


def test_a_slow_alert_raised_by_shutdown_itself_does_not_hold_it(
    slow_callback: tuple[threading.Event, threading.Event],
) -> None:
    """The last spans are examined at shutdown: the alert they raise calls the slow callback there."""
    tool_loop_with_a_slow_notifier(*slow_callback)
    shutdown_within(2)  # at once: before the watchdog's next pass
    assert slow_callback[0].is_set()


def test_a_slow_on_insight_callback_does_not_hold_shutdown(
    slow_callback: tuple[threading.Event, threading.Event], caplog: pytest.LogCaptureFixture
) -> None:
    called, released = slow_callback

    def learner(insight: wl.Insight) -> None:
        called.set()
        released.wait(20)

    wl.configure(store=False)
    wl.on_insight("coder", learner)
    with wl.workspace("#general"), wl.bot("nanobot"):
        wl.insight("Project uses PostgreSQL", category="domain_knowledge", confidence=0.95)
        wl.insight("Deploys happen on Fridays", category="domain_knowledge", confidence=0.95)
    assert called.wait(10)
    with caplog.at_level(logging.WARNING, logger="otel_worklog"):
        shutdown_within(2)
    assert "insight deliveries were still waiting at the shutdown deadline" in caplog.text
