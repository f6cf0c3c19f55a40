"""@wl.tool and @wl.agent on all four function kinds, on methods, and their context hygiene."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import traceback
from collections.abc import AsyncGenerator, Callable, Coroutine, Generator
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs, duration_ns, parent_id, str_attr


@wl.tool
def weather_lookup(location: str, units: str = "F") -> dict[str, str | int]:
    return {"temp": 72, "condition": "sunny", "location": location, "units": units}


@wl.tool(name="web_search")
async def web_search(query: str) -> list[str]:
    await asyncio.sleep(0)
    return [f"result for {query}"]


@wl.tool
def paginate(pages: int) -> Generator[dict[str, int]]:
    for page in range(pages):
        yield {"page": page, "current": trace.get_current_span().get_span_context().span_id}


@wl.tool
async def stream(chunks: int) -> AsyncGenerator[str]:
    for i in range(chunks):
        await asyncio.sleep(0)
        yield f"chunk {i}"


class Toolbox:
    prefix = "cls"

    def __init__(self) -> None:
        self.prefix = "obj"

    @wl.tool
    def method(self, x: int) -> str:
        return f"{self.prefix}:{x}"

    @wl.tool
    @classmethod
    def tool_above_classmethod(cls, x: int) -> str:
        return f"{cls.prefix}:{x}"

    @classmethod
    @wl.tool
    def classmethod_above_tool(cls, x: int) -> str:
        return f"{cls.prefix}:{x}"

    @wl.tool
    @staticmethod
    def tool_above_staticmethod(x: int) -> int:
        return x * 2

    @staticmethod
    @wl.tool
    def staticmethod_above_tool(x: int) -> int:
        return x * 3


def _tool_span(worklog: WorklogCapture, name: str) -> ReadableSpan:
    return worklog.span(f"execute_tool {name}")


class TestFunctionKinds:
    def test_sync_tool_records_arguments_result_and_status(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#general"), wl.bot("nanobot"):
            assert weather_lookup("auto-detect")["temp"] == 72
        span = _tool_span(worklog, "weather_lookup")
        assert attrs(span)[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
        assert attrs(span)[sc.GEN_AI_TOOL_NAME] == "weather_lookup"
        assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_ARGUMENTS)) == {"location": "auto-detect", "units": "F"}
        assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT))["condition"] == "sunny"
        assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "success"
        assert attrs(span)[sc.WORKSPACE_ID] == "#general"
        assert attrs(span)[sc.BOT_NAME] == "nanobot"

    def test_coroutine_span_covers_the_await(self, worklog: WorklogCapture) -> None:
        async def main() -> list[str]:
            with wl.workspace("dm-researcher"), wl.bot("researcher"):
                return await web_search("post-quantum algorithms")

        assert asyncio.run(main()) == ["result for post-quantum algorithms"]
        span = _tool_span(worklog, "web_search")
        assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT)) == ["result for post-quantum algorithms"]
        assert attrs(span)[sc.BOT_NAME] == "researcher"

    def test_generator_span_covers_iteration_and_is_not_current_between_items(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w"), wl.bot("nanobot"):
            outer = trace.get_current_span().get_span_context().span_id
            currents_outside = []
            items = []
            for item in paginate(3):
                items.append(item)
                currents_outside.append(trace.get_current_span().get_span_context().span_id)
        span = _tool_span(worklog, "paginate")
        assert [i["current"] for i in items] == [span.context.span_id] * 3  # current inside the generator
        assert currents_outside == [outer] * 3  # never current across the yield
        assert len(json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT))) == 3
        assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "success"

    def test_generator_break_and_close_end_the_span(self, worklog: WorklogCapture) -> None:
        before = otel_context.get_current()
        with wl.workspace("#w"):
            for _ in paginate(10):
                break
            gen = paginate(10)
            next(gen)
            gen.close()
        assert otel_context.get_current() == before
        spans = [s for s in worklog.spans() if s.name == "execute_tool paginate"]
        assert len(spans) == 2
        assert all(s.end_time is not None for s in spans)
        assert [attrs(s)[sc.WORKLOG_TOOL_STATUS] for s in spans] == ["cancelled", "cancelled"]

    def test_generator_never_started_records_nothing(self, worklog: WorklogCapture) -> None:
        gen = paginate(3)
        del gen
        assert worklog.spans() == []

    def test_async_generator_span_and_early_close(self, worklog: WorklogCapture) -> None:
        async def main() -> list[str]:
            got = []
            with wl.workspace("#w"), wl.bot("nanobot"):
                outer = trace.get_current_span()
                async for chunk in stream(3):
                    assert trace.get_current_span() is outer
                    got.append(chunk)
                agen = stream(5)
                got.append(await agen.__anext__())
                await agen.aclose()
            return got

        before = otel_context.get_current()
        assert asyncio.run(main()) == ["chunk 0", "chunk 1", "chunk 2", "chunk 0"]
        spans = [s for s in worklog.spans() if s.name == "execute_tool stream"]
        assert [attrs(s)[sc.WORKLOG_TOOL_STATUS] for s in spans] == ["success", "cancelled"]
        assert all(s.end_time for s in spans)
        assert otel_context.get_current() == before

    def test_cancelled_coroutine_ends_span_without_leaking(self, worklog: WorklogCapture) -> None:
        @wl.tool
        async def slow() -> None:
            await asyncio.sleep(10)

        async def main() -> None:
            with wl.workspace("#w"):
                task = asyncio.create_task(slow())
                await asyncio.sleep(0.01)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

        asyncio.run(main())
        span = _tool_span(worklog, "TestFunctionKinds.test_cancelled_coroutine_ends_span_without_leaking.<locals>.slow")
        assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "cancelled"
        assert span.status.status_code is StatusCode.UNSET


class TestMethods:
    @pytest.mark.parametrize(
        ("call", "name", "expected", "arguments"),
        [
            (lambda: Toolbox().method(1), "Toolbox.method", "obj:1", {"x": 1}),
            (lambda: Toolbox.tool_above_classmethod(2), "Toolbox.tool_above_classmethod", "cls:2", {"x": 2}),
            (lambda: Toolbox.classmethod_above_tool(3), "Toolbox.classmethod_above_tool", "cls:3", {"x": 3}),
            (lambda: Toolbox().classmethod_above_tool(3), "Toolbox.classmethod_above_tool", "cls:3", {"x": 3}),
            (lambda: Toolbox.tool_above_staticmethod(4), "Toolbox.tool_above_staticmethod", 8, {"x": 4}),
            (lambda: Toolbox.staticmethod_above_tool(5), "Toolbox.staticmethod_above_tool", 15, {"x": 5}),
            (lambda: Toolbox().staticmethod_above_tool(5), "Toolbox.staticmethod_above_tool", 15, {"x": 5}),
        ],
    )
    def test_methods_in_either_decorator_order(
        self,
        worklog: WorklogCapture,
        call: Callable[[], object],
        name: str,
        expected: object,
        arguments: dict[str, int],
    ) -> None:
        assert call() == expected
        span = _tool_span(worklog, name)
        assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_ARGUMENTS)) == arguments

    def test_default_name_is_the_qualified_name(self, worklog: WorklogCapture) -> None:
        Toolbox().method(1)
        assert attrs(worklog.spans()[0])[sc.GEN_AI_TOOL_NAME] == "Toolbox.method"


class TestErrors:
    def test_user_exception_propagates_unchanged_with_its_traceback(self, worklog: WorklogCapture) -> None:
        class QuotaExceeded(Exception):
            pass

        error = QuotaExceeded("rate limit hit for key sk-proj-abcdefghijklmnopqrstuvwx")

        @wl.tool
        def call_api() -> None:
            raise error

        with pytest.raises(QuotaExceeded) as raised, wl.workspace("#w"):
            call_api()
        assert raised.value is error
        frames = [f.name for f in traceback.extract_tb(raised.value.__traceback__)]
        assert frames[-1] == "call_api"
        span = _tool_span(worklog, call_api.__qualname__)
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)[sc.ERROR_TYPE] == "QuotaExceeded"
        assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "error"
        (event,) = span.events
        assert event.name == "exception"
        assert "sk-proj" not in str_attr(event, "exception.message")
        assert "[REDACTED:openai_key]" in str_attr(event, "exception.message")
        assert "sk-proj" not in str_attr(event, "exception.stacktrace")

    def test_tool_fails_then_succeeds(self, worklog: WorklogCapture) -> None:
        attempts = []

        @wl.tool(name="flaky_fetch")
        def fetch() -> str:
            attempts.append(1)
            if len(attempts) == 1:
                raise TimeoutError("upstream timed out")
            return "ok"

        with wl.workspace("#w"), wl.bot("coder"):
            with pytest.raises(TimeoutError):
                fetch()
            assert fetch() == "ok"
        statuses = [attrs(s)[sc.WORKLOG_TOOL_STATUS] for s in worklog.spans() if s.name.startswith("execute_tool")]
        assert statuses == ["error", "success"]

    def test_no_context_leaks_after_an_exception(self, worklog: WorklogCapture) -> None:
        @wl.tool
        def broken() -> None:
            raise KeyError("x")

        before = otel_context.get_current()
        with pytest.raises(KeyError):
            broken()
        assert otel_context.get_current() == before


class TestCapture:
    def test_per_tool_capture_off(self, worklog: WorklogCapture) -> None:
        @wl.tool(capture_content=False)
        def private(x: str) -> str:
            return x

        private("secret stuff")
        span = worklog.spans()[0]
        assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in attrs(span)
        assert sc.GEN_AI_TOOL_CALL_RESULT not in attrs(span)
        assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "success"

    def test_global_capture_off(self, worklog: WorklogCapture) -> None:
        worklog.configure(capture_content=False)
        weather_lookup("Paris")
        assert sc.GEN_AI_TOOL_CALL_ARGUMENTS not in attrs(worklog.spans()[0])

    def test_without_configure_the_tool_just_runs(self) -> None:
        wl.shutdown()
        assert weather_lookup("Paris")["location"] == "Paris"
        assert list(paginate(2))[1]["page"] == 1


class AsyncTool:
    """A tool object whose ``__call__`` is a coroutine function."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail

    async def __call__(self, query: str) -> dict[str, list[str]]:
        await asyncio.sleep(0.01)
        wl.info("searching")
        if self.fail:
            raise ConnectionError(f"backend down for {query}")
        return {"hits": [query]}


async def _delayed(value: str, fail: bool) -> str:
    await asyncio.sleep(0.01)
    if fail:
        raise TimeoutError("too slow")
    return value


class TestAwaitables:
    @pytest.mark.parametrize("fail", [False, True])
    def test_a_callable_object_with_an_async_call_is_traced_to_completion(
        self, worklog: WorklogCapture, fail: bool
    ) -> None:
        search = wl.tool(name="search")(AsyncTool(fail))

        async def main() -> object:
            with wl.workspace("#w"), wl.bot("researcher"):
                return await search("otel")

        if fail:
            with pytest.raises(ConnectionError):
                asyncio.run(main())
        else:
            assert asyncio.run(main()) == {"hits": ["otel"]}
        span = _tool_span(worklog, "search")
        assert duration_ns(span) >= 10_000_000  # the span covers the await
        assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_ARGUMENTS)) == {"query": "otel"}
        assert [attrs(e)[sc.WORKLOG_MESSAGE] for e in span.events if e.name == "worklog.info"] == ["searching"]
        if fail:
            assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "error"
            assert span.status.status_code is StatusCode.ERROR
            assert attrs(span)[sc.ERROR_TYPE] == "ConnectionError"
            assert sc.GEN_AI_TOOL_CALL_RESULT not in attrs(span)
        else:
            assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "success"
            assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT)) == {"hits": ["otel"]}

    @pytest.mark.parametrize("fail", [False, True])
    def test_a_plain_function_returning_a_coroutine_is_traced_until_it_completes(
        self, worklog: WorklogCapture, fail: bool
    ) -> None:
        @wl.tool(name="fetch")
        def fetch(value: str) -> Coroutine[Any, Any, str]:
            return _delayed(value, fail)

        async def main() -> str:
            return await fetch("page")

        if fail:
            with pytest.raises(TimeoutError):
                asyncio.run(main())
        else:
            assert asyncio.run(main()) == "page"
        span = _tool_span(worklog, "fetch")
        assert duration_ns(span) >= 10_000_000
        assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == ("error" if fail else "success")
        if not fail:
            assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT)) == "page"

    def test_a_returned_task_keeps_its_identity_and_ends_the_span_when_done(self, worklog: WorklogCapture) -> None:
        created: list[asyncio.Task[str]] = []

        @wl.tool(name="spawn")
        def spawn() -> asyncio.Task[str]:
            task = asyncio.ensure_future(_delayed("done", False))
            created.append(task)
            return task

        async def main() -> str:
            task = spawn()
            assert task is created[0]
            return await task

        assert asyncio.run(main()) == "done"
        span = _tool_span(worklog, "spawn")
        assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "success"
        assert json.loads(str_attr(span, sc.GEN_AI_TOOL_CALL_RESULT)) == "done"

    def test_instrument_traces_an_async_call_object(self, worklog: WorklogCapture) -> None:
        import types

        module = types.ModuleType("tools")
        module.search = AsyncTool(fail=True)  # type: ignore[attr-defined]
        assert wl.instrument(module, "search", name="search") == ["search"]
        with pytest.raises(ConnectionError):
            asyncio.run(module.search("otel"))
        span = _tool_span(worklog, "search")
        assert attrs(span)[sc.WORKLOG_TOOL_STATUS] == "error"
        assert attrs(span)[sc.ERROR_TYPE] == "ConnectionError"


class TestDecoratingTwice:
    def test_tool_of_a_tool_records_one_span(self, worklog: WorklogCapture) -> None:
        def lookup(city: str) -> str:
            return city

        traced = wl.tool(wl.tool(lookup))
        assert traced("Oslo") == "Oslo"
        assert [s.name for s in worklog.spans()] == [f"execute_tool {lookup.__qualname__}"]

    def test_agent_around_a_tool_is_two_spans(self, worklog: WorklogCapture) -> None:
        @wl.agent(name="coder")
        @wl.tool(name="write")
        def write() -> None:
            return None

        write()
        assert sorted(s.name for s in worklog.spans()) == ["execute_tool write", "invoke_agent coder"]


class TestFrameworkToolObjects:
    """``@wl.tool`` written above a framework's tool decorator wraps the framework's object, not the function."""

    def _fake_framework_tool(self, module: str, callable_object: bool) -> object:
        # A stand-in for a framework's tool class (OpenAI Agents' FunctionTool lives in agents.tool,
        # LangChain's StructuredTool in langchain_core.tools): otel_worklog must tell it apart without
        # importing any framework.
        namespace: dict[str, object] = {"__module__": module}
        if callable_object:
            namespace["__call__"] = lambda self, *args: None
        return type("FunctionTool", (), namespace)()

    @pytest.mark.parametrize(
        ("module", "callable_object"), [("agents.tool", False), ("langchain_core.tools.structured", True)]
    )
    def test_warns_once_with_the_right_order(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture, module: str, callable_object: bool
    ) -> None:
        framework_tool = self._fake_framework_tool(module, callable_object)
        other = type(framework_tool)()
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            # Not functions, so a type checker refuses them as it would in a user's code; this checks the
            # warning at run time for code that is not type-checked.
            wl.tool(framework_tool)  # type: ignore[call-overload]
            wl.tool(other)  # type: ignore[call-overload]
        warnings = [r.getMessage() for r in caplog.records if "not a function" in r.getMessage()]
        assert len(warnings) == 1
        assert f"{module}.FunctionTool" in warnings[0]
        assert "below the framework's decorator" in warnings[0]

    def test_a_plain_callable_object_is_no_framework_tool(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            wl.tool(AsyncTool(fail=False))
            wl.tool(functools.partial(weather_lookup, "Paris"))
        assert "not a function" not in caplog.text

    def test_the_real_openai_agents_function_tool(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        agents = pytest.importorskip("agents")

        def lookup(city: str) -> str:
            """Look a city up."""
            return city

        with caplog.at_level(logging.WARNING, "otel_worklog"):
            wl.tool(agents.function_tool(lookup))
        assert "@function_tool, then @wl.tool" in caplog.text


class TestAgentOptions:
    def test_agent_takes_the_options_of_bot(self, worklog: WorklogCapture) -> None:
        @wl.agent(name="coder", role="specialist", triggered_by="user", new_trace=True)
        def code() -> None:
            wl.decision("write it", confidence=0.9)

        with wl.workspace("#p") as ws:
            code()
        span = worklog.span("invoke_agent coder")
        assert attrs(span)[sc.BOT_ROLE] == "specialist"
        assert attrs(span)[sc.BOT_TRIGGERED_BY] == "user"
        assert span.parent is None  # new_trace: a root of its own trace
        assert span.context.trace_id != int(ws.trace_id, 16)
        assert attrs(span)[sc.WORKSPACE_ID] == "#p"

    def test_agent_defaults_its_trigger_to_the_calling_bot(self, worklog: WorklogCapture) -> None:
        @wl.agent(name="coder")
        def code() -> None:
            return None

        with wl.workspace("#p"), wl.bot("nanobot"):
            code()
        assert attrs(worklog.span("invoke_agent coder"))[sc.BOT_TRIGGERED_BY] == "nanobot"

    @pytest.mark.parametrize("form", ["object", "carrier", "json"])
    def test_agent_receives_a_handoff_from_its_argument(self, worklog: WorklogCapture, form: str) -> None:
        @wl.agent(name="coder", handoff="handoff")
        def code(task: str, handoff: object = None) -> str:
            wl.info(f"picked up {task}")
            return task

        with wl.workspace("#p"), wl.bot("nanobot"):
            sent = wl.handoff("coder", reason="implement it")
        value = {"object": sent, "carrier": sent.carrier, "json": sent.to_json()}[form]
        worker = threading.Thread(target=code, args=("rate limiter",), kwargs={"handoff": value})
        worker.start()
        worker.join()
        handoff_span = worklog.span("handoff nanobot -> coder")
        coder = worklog.span("invoke_agent coder")
        assert parent_id(coder) == handoff_span.context.span_id
        assert coder.context.trace_id == handoff_span.context.trace_id
        (link,) = coder.links
        assert link.context.span_id == handoff_span.context.span_id
        assert attrs(link)[sc.WORKLOG_LINK_TYPE] == "handoff"
        assert attrs(coder)[sc.BOT_TRIGGERED_BY] == "nanobot"
        assert attrs(coder)[sc.WORKSPACE_ID] == "#p"
        (entry,) = coder.events
        assert attrs(entry)[sc.WORKLOG_MESSAGE] == "picked up rate limiter"

    def test_agent_with_no_handoff_in_this_call_starts_plainly(self, worklog: WorklogCapture) -> None:
        @wl.agent(name="coder", handoff="handoff")
        def code(handoff: object = None) -> None:
            return None

        code()
        coder = worklog.span("invoke_agent coder")
        assert coder.links == ()
        assert sc.WORKLOG_HANDOFF_INVALID not in attrs(coder)

    def test_agent_handoff_positional_and_on_a_method(self, worklog: WorklogCapture) -> None:
        class Worker:
            @wl.agent(name="coder", handoff="carrier", new_trace=True)
            def run(self, carrier: dict[str, str]) -> None:
                return None

        with wl.workspace("#p"), wl.bot("nanobot"):
            sent = wl.handoff("coder")
        Worker().run(sent.carrier)
        coder = worklog.span("invoke_agent coder")
        assert coder.parent is None
        assert coder.links[0].context.span_id == worklog.span("handoff nanobot -> coder").context.span_id
