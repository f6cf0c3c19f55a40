"""Each hardening test starts with otel_worklog unconfigured and none of the OTEL_* variables set.

Also: the well-behaved OTLP/HTTP receiver of the wire tests, and one that never answers.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import otel_worklog as wl
from otel_worklog._internal.pipeline.detectors import clear_alert_callbacks
from otel_worklog._internal.pipeline.insights import clear_insight_callbacks
from tests.wire.conftest import http_receiver
from tests.wire.receivers import OtlpHttpReceiver

__all__ = ["http_receiver"]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
    yield
    wl.shutdown(timeout_s=5.0)
    clear_alert_callbacks()
    clear_insight_callbacks()


@pytest.fixture
def never_answers() -> Iterator[OtlpHttpReceiver]:
    """A backend that accepts every connection and never answers (for 5 minutes)."""
    receiver = OtlpHttpReceiver(mode="slow", delay_s=300)
    yield receiver
    receiver.close()
