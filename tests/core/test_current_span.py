"""The fast current-span lookup agrees with ``trace.get_current_span`` in every case the API handles."""

from __future__ import annotations

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import TracerProvider

import otel_worklog as wl
from otel_worklog._internal.record import current_span as fast
from otel_worklog.testing import WorklogCapture


def test_the_span_key_is_the_one_the_api_writes() -> None:
    ctx = trace.set_span_in_context(trace.INVALID_SPAN, Context())
    assert list(ctx) == [fast.SPAN_KEY]


def test_an_sdk_span_is_found_and_its_type_remembered() -> None:
    span = TracerProvider().get_tracer("t").start_span("s")
    ctx = trace.set_span_in_context(span)
    assert fast.current_span(ctx) is span
    assert type(span) in fast.KNOWN_SPAN_TYPES
    assert fast.current_span(ctx) is span  # the remembered path gives the same answer


def test_an_empty_context_gives_the_invalid_span() -> None:
    assert fast.current_span(Context()) is trace.get_current_span(Context()) is trace.INVALID_SPAN


def test_a_value_that_is_not_a_span_is_ignored_as_the_api_ignores_it() -> None:
    class NotASpan:
        def is_recording(self) -> bool:
            raise AssertionError("never called: this is not a span")

    ctx = Context({fast.SPAN_KEY: NotASpan()})
    assert fast.current_span(ctx) is trace.INVALID_SPAN
    assert NotASpan not in fast.KNOWN_SPAN_TYPES
    assert fast.current_span(ctx) is trace.INVALID_SPAN  # and again, not remembered as a span


def test_entries_ignore_a_foreign_object_in_the_span_slot(worklog: WorklogCapture) -> None:
    class NotASpan:
        pass

    token = otel_context.attach(Context({fast.SPAN_KEY: NotASpan()}))
    try:
        assert wl.decision("nowhere to go", confidence=0.9) == 0
    finally:
        otel_context.detach(token)
    assert worklog.events() == []


def test_without_a_known_span_key_entries_still_find_the_span(
    worklog: WorklogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A context implementation whose span key cannot be learnt: every lookup asks the API instead."""
    from otel_worklog._internal.record import entries

    for module in (fast, entries):
        monkeypatch.setattr(module, "SPAN_KEY", fast.NO_KEY)
        monkeypatch.setattr(module, "SPAN_KEY_KNOWN", False)
    with wl.bot("researcher"):
        assert wl.decision("found the span through the API", confidence=0.9) == 1
        assert fast.current_span(otel_context.get_current()) is trace.get_current_span()
    (span,) = worklog.spans()
    assert [event.name for event in span.events] == ["worklog.decision"]
