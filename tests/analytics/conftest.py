"""Fixtures for the detector, insight and analytics tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otel_worklog._internal.pipeline import insights
from otel_worklog._internal.pipeline.detectors import alerts


class FakeClock:
    """A monotonic clock the tests move by hand: nothing here ever sleeps."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _no_leftover_callbacks() -> Iterator[None]:
    alerts.clear_alert_callbacks()
    insights.clear_insight_callbacks()
    yield
    alerts.clear_alert_callbacks()
    insights.clear_insight_callbacks()
