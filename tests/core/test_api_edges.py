"""Arguments that must never make the SDK raise into the app."""

from __future__ import annotations

import logging

import pytest

import otel_worklog as wl
from otel_worklog.testing import WorklogCapture


@pytest.mark.parametrize("timeout", ["5", 5, 2.5, None])
def test_force_flush_and_shutdown_take_a_number_or_its_text(worklog: WorklogCapture, timeout: object) -> None:
    with wl.workspace("#w"):
        pass
    assert wl.force_flush(timeout) is True  # type: ignore[arg-type]
    assert [s.name for s in worklog.exporter.get_finished_spans()] == ["workspace #w"]
    wl.shutdown(timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", ["soon", -1, float("nan"), True, [5]])
def test_a_bad_timeout_warns_and_uses_the_setting(
    worklog: WorklogCapture, caplog: pytest.LogCaptureFixture, timeout: object
) -> None:
    with wl.workspace("#w"):
        pass
    with caplog.at_level(logging.WARNING, "otel_worklog"):
        assert wl.force_flush(timeout) is True  # type: ignore[arg-type]
        wl.shutdown(timeout)  # type: ignore[arg-type]
    assert "shutdown_timeout_s" in caplog.text
    assert [s.name for s in worklog.exporter.get_finished_spans()] == ["workspace #w"]
