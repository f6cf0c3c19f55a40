"""Fixtures: real OTLP receivers on 127.0.0.1, and OTEL_* environments pointing at them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import otel_worklog as wl
from tests.wire.receivers import OtlpGrpcReceiver, OtlpHttpReceiver

#: Variables that would change where or how spans are exported; each test starts without them.
_ISOLATED_ENV = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
    "OTEL_EXPORTER_OTLP_INSECURE",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_WORKLOG_STORE",
    "OTEL_WORKLOG_MAX_QUEUE_SIZE",
    "OTEL_WORKLOG_MAX_EXPORT_BATCH_SIZE",
    "OTEL_WORKLOG_SCHEDULE_DELAY_MS",
    "OTEL_WORKLOG_EXPORT_TIMEOUT_S",
    "OTEL_WORKLOG_SHUTDOWN_TIMEOUT_S",
    "OTEL_WORKLOG_INFO_SAMPLE_RATE",
)

PointAt = Callable[..., None]


@pytest.fixture(autouse=True)
def _clean_otel_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each wire test sees only the OTEL_* variables it sets, and ends with otel_worklog shut down."""
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    yield
    wl.shutdown(timeout_s=5.0)


@pytest.fixture
def http_receiver() -> Iterator[OtlpHttpReceiver]:
    """A well-behaved OTLP/HTTP receiver."""
    receiver = OtlpHttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def grpc_receiver() -> Iterator[OtlpGrpcReceiver]:
    """A well-behaved OTLP/gRPC receiver."""
    receiver = OtlpGrpcReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def refusing_http_receiver() -> Iterator[OtlpHttpReceiver]:
    """An OTLP/HTTP receiver that answers every export with 503 Service Unavailable."""
    receiver = OtlpHttpReceiver(mode="refuse")
    yield receiver
    receiver.close()


@pytest.fixture
def slow_http_receiver() -> Iterator[OtlpHttpReceiver]:
    """An OTLP/HTTP receiver that takes 30 s to answer (released early when the test ends)."""
    receiver = OtlpHttpReceiver(mode="slow", delay_s=30.0)
    yield receiver
    receiver.close()


@pytest.fixture
def point_at(monkeypatch: pytest.MonkeyPatch) -> PointAt:
    """``point_at(endpoint, protocol, **env)``: the standard OTEL_* variables a user would set."""

    def point(endpoint: str, protocol: str = "http/protobuf", **env: str) -> None:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        for name, value in env.items():
            monkeypatch.setenv(name, value)

    return point
