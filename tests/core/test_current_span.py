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
        step = wl.decision("found the span through the API", confidence=0.9)
        assert fast.current_span(otel_context.get_current()) is trace.get_current_span()
    (span,) = worklog.spans()
    assert [event.name for event in span.events] == ["worklog.decision"]
    # A bot outside a workspace numbers its steps on the process-wide count: whatever it is, the entry holds it.
    assert step >= 1
    assert span.events[0].attributes is not None and span.events[0].attributes["worklog.step"] == step


def test_the_current_context_is_the_apis_after_attach_detach_in_threads_and_tasks() -> None:
    import asyncio
    import threading

    assert fast.current_context() is otel_context.get_current()
    token = otel_context.attach(otel_context.set_value("k", "outer"))
    try:
        assert fast.current_context() is otel_context.get_current()
        assert fast.current_context().get("k") == "outer"
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.append(fast.current_context() is otel_context.get_current()))
        thread.start()
        thread.join()

        async def in_task() -> bool:
            inner = otel_context.attach(otel_context.set_value("k", "task"))
            try:
                return (
                    fast.current_context() is otel_context.get_current() and fast.current_context().get("k") == "task"
                )
            finally:
                otel_context.detach(inner)

        assert seen == [True]
        assert asyncio.run(in_task())
    finally:
        otel_context.detach(token)
    assert fast.current_context().get("k") is None


def test_another_runtime_context_is_always_asked_through_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    """``OTEL_PYTHON_CONTEXT`` may name another implementation: then the fast read is not used."""
    import contextvars

    from opentelemetry.context.context import _RuntimeContext

    class Other(_RuntimeContext):
        """A runtime context of another kind: its own variable, under a name the fast read does not know."""

        def __init__(self) -> None:
            self.current: contextvars.ContextVar[Context] = contextvars.ContextVar("other")
            self.current.set(Context({"where": "other"}))

        def attach(self, context: Context) -> contextvars.Token[Context]:
            return self.current.set(context)

        def get_current(self) -> Context:
            return self.current.get()

        def detach(self, token: contextvars.Token[Context]) -> None:
            self.current.reset(token)

    monkeypatch.setattr(otel_context, "_RUNTIME_CONTEXT", Other())
    getter = fast._find_context_getter()
    assert getter is otel_context.get_current
    assert getter().get("where") == "other"
