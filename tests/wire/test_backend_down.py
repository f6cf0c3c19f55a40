"""A backend that is down, refusing or slow never blocks or breaks the app.

The app's bots keep working while the collector is unreachable (nothing listens
on the port), answers 503 / UNAVAILABLE, or takes 30 s to answer. A user checks
that their workspace runs to completion, that none of otel_worklog's errors reach
their code (their own exceptions still do, unchanged), that ``wl.export_stats()``
reports the failed exports, and that ``wl.shutdown()`` returns instead of hanging.
The only timing here is that hang check, with a generous bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

import otel_worklog as wl
from tests.wire.conftest import PointAt
from tests.wire.receivers import OtlpGrpcReceiver, OtlpHttpReceiver, unused_port

pytestmark = pytest.mark.timeout(120)

EXPORT_TIMEOUT_S = 1.0
SHUTDOWN_TIMEOUT_S = 2.0
#: A hang check, not a speed check.
SHUTDOWN_BOUND_S = 3 * SHUTDOWN_TIMEOUT_S + 5
TOOL_CALLS = 1_500


class QuotaError(Exception):
    """The user's own exception, which must reach the user's code unchanged."""


@wl.tool
def fetch(item: int) -> dict[str, int]:
    return {"item": item, "size": item * 2}


@wl.tool
def over_quota(item: int) -> None:
    raise QuotaError(f"quota exceeded at {item}")


def busy_workspace() -> int:
    """A workspace with many spans and entries; returns how many tool calls completed."""
    completed = 0
    error = QuotaError("the user's own")
    with wl.workspace("ws-backend-down", type="project", participants=["planner", "coder"]):
        with wl.bot("planner"):
            for item in range(TOOL_CALLS):
                assert fetch(item) == {"item": item, "size": item * 2}
                wl.info(f"fetched {item}")
                completed += 1
            with pytest.raises(QuotaError) as raised:
                over_quota(7)
            assert str(raised.value) == "quota exceeded at 7"
            wl.escalate("The collector is down and the quota is out")
            handoff = wl.handoff("coder", artifacts=["plan.md"])
        with wl.bot("coder", handoff=handoff):
            with pytest.raises(QuotaError) as raised_again:
                with wl.bot("coder-helper"):
                    raise error
            assert raised_again.value is error
            wl.decision("Carry on without the collector", confidence=0.9)
    return completed


def wait_for_failed_exports(timeout_s: float = 30.0) -> list[wl.ExportStats]:
    """Poll ``wl.export_stats()`` until the OTLP exporter reports a failed export."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = [s for s in wl.export_stats() if "OTLP" in s.exporter]
        if (stats and stats[0].failed > 0) or time.monotonic() > deadline:
            return stats
        wl.force_flush(timeout_s=0.5)
        time.sleep(0.05)


def timed_shutdown() -> float:
    start = time.monotonic()
    wl.shutdown()
    return time.monotonic() - start


def configure_against(point_at: PointAt, endpoint: str, protocol: str) -> None:
    point_at(
        endpoint,
        protocol,
        OTEL_WORKLOG_EXPORT_TIMEOUT_S=str(EXPORT_TIMEOUT_S),
        OTEL_WORKLOG_SHUTDOWN_TIMEOUT_S=str(SHUTDOWN_TIMEOUT_S),
        OTEL_WORKLOG_SCHEDULE_DELAY_MS="50",
        OTEL_EXPORTER_OTLP_TIMEOUT=str(EXPORT_TIMEOUT_S),
    )
    wl.configure(store=False)


def check_app_survives(attempts: Callable[[], int] | None = None) -> None:
    """The workspace completes, failures are counted, and shutdown returns."""
    assert busy_workspace() == TOOL_CALLS
    stats = wait_for_failed_exports()
    assert len(stats) == 1, stats
    (otlp,) = stats
    assert otlp.failed > 0, otlp
    assert otlp.exported == 0, otlp
    if attempts is not None:
        assert attempts() >= 1, "the receiver was never contacted"
    elapsed = timed_shutdown()
    assert elapsed < SHUTDOWN_BOUND_S, f"wl.shutdown() took {elapsed:.1f} s"
    # After shutdown, the final counts: nothing left waiting, nothing exported, every span counted as lost.
    (final,) = wl.export_stats()
    assert final.queued == 0 and final.exported == 0, final
    assert final.failed + final.abandoned + final.dropped >= TOOL_CALLS, final


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_nothing_listening(point_at: PointAt, protocol: str) -> None:
    """Connection refused on every export: the app runs on, failures are counted, shutdown returns."""
    configure_against(point_at, f"http://127.0.0.1:{unused_port()}", protocol)
    check_app_survives()


def test_http_503(refusing_http_receiver: OtlpHttpReceiver, point_at: PointAt) -> None:
    """A collector that answers 503 to every export: counted as failed, never raised, shutdown returns."""
    configure_against(point_at, refusing_http_receiver.endpoint, "http/protobuf")
    check_app_survives(lambda: refusing_http_receiver.attempts)
    assert refusing_http_receiver.span_count == 0


def test_grpc_unavailable(point_at: PointAt) -> None:
    """A gRPC collector that answers UNAVAILABLE to every export behaves the same."""
    receiver = OtlpGrpcReceiver(mode="refuse")
    try:
        configure_against(point_at, receiver.endpoint, "grpc")
        check_app_survives(lambda: receiver.attempts)
        assert receiver.span_count == 0
    finally:
        receiver.close()


def test_http_slow(slow_http_receiver: OtlpHttpReceiver, point_at: PointAt) -> None:
    """A collector that takes 30 s to answer: exports time out and fail; the app never waits for it."""
    configure_against(point_at, slow_http_receiver.endpoint, "http/protobuf")
    check_app_survives(lambda: slow_http_receiver.attempts)


def test_grpc_slow(point_at: PointAt) -> None:
    """A gRPC collector that takes 30 s to answer behaves the same."""
    receiver = OtlpGrpcReceiver(mode="slow", delay_s=30.0)
    try:
        configure_against(point_at, receiver.endpoint, "grpc")
        check_app_survives(lambda: receiver.attempts)
    finally:
        receiver.close()


def test_shutdown_with_a_full_queue_and_a_slow_backend_returns(
    slow_http_receiver: OtlpHttpReceiver, point_at: PointAt
) -> None:
    """Shutting down while thousands of spans wait for a stalled collector is still bounded."""
    configure_against(point_at, slow_http_receiver.endpoint, "http/protobuf")
    busy_workspace()
    busy_workspace()
    (otlp,) = wl.export_stats()
    assert otlp.queued > 0, "the queue should still hold spans the collector has not taken"
    elapsed = timed_shutdown()
    assert elapsed < SHUTDOWN_BOUND_S, f"wl.shutdown() took {elapsed:.1f} s"
