"""The low-confidence list of a work log follows the CONFIDENCE_THRESHOLD setting."""

from __future__ import annotations

import pytest

from otel_worklog import semconv as sc
from otel_worklog._internal.query.records import EventRecord, SpanRecord
from otel_worklog._internal.query.worklog import build_worklog


def _decision(confidence: float, at: int) -> EventRecord:
    attrs = {sc.WORKLOG_LEVEL: "decision", sc.WORKLOG_MESSAGE: "chose", sc.WORKLOG_CONFIDENCE: confidence}
    return EventRecord(sc.event_name("decision"), at, attrs)


def _bot_span() -> SpanRecord:
    # Decisions as another process recorded them, with its own threshold: none flagged low-confidence there.
    events = (_decision(0.9, 1), _decision(0.75, 2), _decision(0.65, 3))
    attrs = {sc.BOT_NAME: "a", sc.WORKSPACE_ID: "#w"}
    return SpanRecord("1" * 32, "2" * 16, None, "invoke_agent a", "INTERNAL", 0, 10, "UNSET", "", attrs, events)


@pytest.mark.parametrize(("threshold", "listed"), [(None, [0.65]), ("0.8", [0.75, 0.65]), ("0.5", [])])
def test_low_confidence_uses_the_setting(
    monkeypatch: pytest.MonkeyPatch, threshold: str | None, listed: list[float]
) -> None:
    if threshold is None:
        monkeypatch.delenv("OTEL_WORKLOG_CONFIDENCE_THRESHOLD", raising=False)  # the default, 0.7
    else:
        monkeypatch.setenv("OTEL_WORKLOG_CONFIDENCE_THRESHOLD", threshold)
    view = build_worklog([_bot_span()])
    assert [e.confidence for e in view.low_confidence] == listed
