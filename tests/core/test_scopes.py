"""wl.bot / wl.workspace opened in one callback and closed in another: start() and end().

Frameworks report an agent's start and end in two callbacks, sometimes from different tasks, and
close nested scopes in start order. Whatever the order, no span may stay current, no ended span may
become current again, and no context token may be reset from another context.
"""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import StatusCode

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs, parent_id


def _assert_nothing_current(worklog: WorklogCapture) -> None:
    """No span is current, and a span started now is a root."""
    assert trace.get_current_span() is trace.INVALID_SPAN
    worklog.provider.get_tracer("t").start_span("next request").end()
    assert worklog.span("next request").parent is None


def _no_detach_failures(caplog: pytest.LogCaptureFixture) -> None:
    assert "Failed to detach context" not in caplog.text


class Callbacks:
    """Stand-in for a framework's hooks: the scope opens in one method and closes in another."""

    def __init__(self) -> None:
        self.open: dict[str, wl.bot] = {}

    def on_agent_start(self, name: str) -> None:
        self.open[name] = wl.bot(name).start()

    def on_agent_end(self, name: str, error: BaseException | None = None) -> None:
        self.open.pop(name).end(error)


class TestStartAndEnd:
    def test_open_in_one_callback_close_in_another(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        hooks = Callbacks()
        with caplog.at_level(logging.DEBUG):
            hooks.on_agent_start("triage")
            wl.decision("route to billing", confidence=0.9)
            worklog.provider.get_tracer("t").start_span("inside").end()
            hooks.on_agent_end("triage")
        span = worklog.span("invoke_agent triage")
        assert span.end_time is not None
        assert [attrs(e)[sc.WORKLOG_MESSAGE] for e in span.events] == ["route to billing"]
        assert attrs(worklog.span("inside"))[sc.BOT_NAME] == "triage"
        assert parent_id(worklog.span("inside")) == span.context.span_id
        _assert_nothing_current(worklog)
        _no_detach_failures(caplog)

    def test_end_records_an_error(self, worklog: WorklogCapture) -> None:
        hooks = Callbacks()
        hooks.on_agent_start("tech")
        hooks.on_agent_end("tech", RuntimeError("tool broke"))
        span = worklog.span("invoke_agent tech")
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)[sc.ERROR_TYPE] == "RuntimeError"

    def test_end_ignores_a_base_exception_that_is_not_an_error(self, worklog: WorklogCapture) -> None:
        scope = wl.workspace("#w").start()
        scope.end(KeyboardInterrupt())
        assert worklog.span("workspace #w").status.status_code is StatusCode.UNSET

    def test_two_bots_closed_in_start_order(self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.DEBUG):
            first = wl.bot("a").start()
            second = wl.bot("b").start()
            first.end()
            # "b" is still open and current: its work goes on under it.
            assert trace.get_current_span().get_span_context().span_id == second.span.get_span_context().span_id
            second.end()
        a, b = worklog.span("invoke_agent a"), worklog.span("invoke_agent b")
        assert a.end_time is not None and b.end_time is not None
        assert parent_id(b) == a.context.span_id
        _assert_nothing_current(worklog)
        _no_detach_failures(caplog)

    def test_an_ended_span_never_becomes_current_again(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w") as ws:
            outer = ws.span.get_span_context().span_id
            first = wl.bot("a").start()
            second = wl.bot("b").start()
            first.end()
            second.end()
            # Back to the workspace, skipping "a", which ended first.
            assert trace.get_current_span().get_span_context().span_id == outer
        _assert_nothing_current(worklog)

    def test_start_in_one_task_end_in_another(self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture) -> None:
        opened: dict[str, wl.bot] = {}

        async def on_start() -> None:
            opened["triage"] = wl.bot("triage").start()
            wl.info("started")

        async def on_end() -> None:
            opened["triage"].end()

        async def run() -> None:
            await asyncio.create_task(on_start())
            await asyncio.create_task(on_end())
            assert trace.get_current_span() is trace.INVALID_SPAN

        with caplog.at_level(logging.DEBUG):
            asyncio.run(run())
        span = worklog.span("invoke_agent triage")
        assert span.end_time is not None
        assert [attrs(e)[sc.WORKLOG_MESSAGE] for e in span.events] == ["started"]
        _assert_nothing_current(worklog)
        _no_detach_failures(caplog)

    def test_tasks_that_inherited_the_scope_close_it_in_start_order(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def run() -> None:
            first = wl.bot("a").start()
            second = wl.bot("b").start()

            b_id = second.span.get_span_context().span_id

            async def close(scope: wl.bot) -> int:
                scope.end()
                return trace.get_current_span().get_span_context().span_id

            after = await asyncio.gather(asyncio.create_task(close(first)), asyncio.create_task(close(second)))
            # Closing "a" leaves the open "b" current; closing "b" skips the ended "a": nothing is current.
            assert list(after) == [b_id, trace.INVALID_SPAN_CONTEXT.span_id]

        with caplog.at_level(logging.DEBUG):
            asyncio.run(run())
        assert all(worklog.span(name).end_time for name in ("invoke_agent a", "invoke_agent b"))
        _assert_nothing_current(worklog)
        _no_detach_failures(caplog)

    def test_end_from_another_thread_touches_neither_thread(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        previous = otel_context.get_current()
        scope = wl.bot("worker").start()
        seen: list[trace.Span] = []

        def close() -> None:
            scope.end()
            seen.append(trace.get_current_span())

        with caplog.at_level(logging.DEBUG):
            thread = threading.Thread(target=close)
            thread.start()
            thread.join()
        assert seen == [trace.INVALID_SPAN]
        span = worklog.span("invoke_agent worker")
        assert span.end_time is not None
        # A thread cannot change another thread's context: this one still holds the span it started.
        assert trace.get_current_span().get_span_context().span_id == span.context.span_id
        otel_context.attach(previous)
        _no_detach_failures(caplog)

    def test_end_twice_and_end_before_start_do_nothing(self, worklog: WorklogCapture) -> None:
        scope = wl.bot("x")
        scope.end()
        scope.start()
        scope.end()
        scope.end()
        assert len([s for s in worklog.spans() if s.name == "invoke_agent x"]) == 1
        _assert_nothing_current(worklog)

    def test_an_object_can_be_used_again_after_it_ended(self, worklog: WorklogCapture) -> None:
        scope = wl.bot("again")
        for _ in range(2):
            with scope:
                wl.info("turn")
        assert len([s for s in worklog.spans() if s.name == "invoke_agent again"]) == 2
        _assert_nothing_current(worklog)

    def test_without_configure_start_and_end_do_nothing(self) -> None:
        wl.shutdown()
        scope = wl.workspace("#w").start()
        assert scope.span is trace.INVALID_SPAN
        scope.end()
        assert trace.get_current_span() is trace.INVALID_SPAN


class TestDoubleEnter:
    def test_nested_double_enter_warns_once_and_leaks_nothing(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        before = otel_context.get_current()
        ws = wl.workspace("#w")
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            with ws:
                with ws:
                    wl.info("inner")
                wl.info("after inner")
            assert otel_context.get_current() == before
        assert caplog.text.count("already started") == 1
        (span,) = [s for s in worklog.spans() if s.name == "workspace #w"]
        assert span.end_time is not None
        assert [attrs(e)[sc.WORKLOG_MESSAGE] for e in span.events] == ["inner", "after inner"]
        _assert_nothing_current(worklog)

    def test_double_enter_of_a_bot_inside_its_own_block(self, worklog: WorklogCapture) -> None:
        researcher = wl.bot("researcher")
        with wl.workspace("#w"), researcher:
            with researcher:
                pass
            assert trace.get_current_span().get_span_context().span_id == researcher.span.get_span_context().span_id
        spans = [s for s in worklog.spans() if s.name == "invoke_agent researcher"]
        assert len(spans) == 1 and spans[0].end_time is not None
        _assert_nothing_current(worklog)

    def test_start_twice_warns_and_one_end_ends_it(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        scope = wl.bot("x")
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            scope.start()
            scope.start()
        assert "already started" in caplog.text
        scope.end()
        (span,) = worklog.spans()
        assert span.end_time is not None
        _assert_nothing_current(worklog)
