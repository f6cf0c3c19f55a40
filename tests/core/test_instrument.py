"""wl.instrument() / wl.uninstrument() on modules, classes and objects; executors carry context."""

from __future__ import annotations

import logging
import re
import types

import pytest
from opentelemetry import trace

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs, parent_id


def _module() -> types.ModuleType:
    module = types.ModuleType("weather_tools")

    def lookup(city: str) -> str:
        return f"sunny in {city}"

    class Client:
        def fetch(self, url: str) -> str:
            return f"GET {url}"

        @classmethod
        def build(cls) -> Client:
            return cls()

    module.lookup = lookup  # type: ignore[attr-defined]
    module.Client = Client  # type: ignore[attr-defined]
    return module


class TestInstrument:
    def test_wraps_a_module_function_once_and_restores_it(self, worklog: WorklogCapture) -> None:
        module = _module()
        original = module.lookup
        assert wl.instrument(module, "lookup") == ["lookup"]
        assert wl.instrument(module, "lookup") == []  # no double wrapping
        assert module.lookup("Paris") == "sunny in Paris"
        (span,) = worklog.spans()
        assert span.name == "execute_tool _module.<locals>.lookup"
        assert wl.uninstrument(module, "lookup") == ["lookup"]
        assert module.lookup is original
        module.lookup("Oslo")
        assert len(worklog.spans()) == 1

    def test_wraps_methods_and_classmethods_of_a_class(self, worklog: WorklogCapture) -> None:
        module = _module()
        original_build = vars(module.Client)["build"]
        wl.instrument(module, "Client.fetch", "Client.build", name=None)
        client = module.Client.build()
        assert client.fetch("/weather") == "GET /weather"
        names = [attrs(s)[sc.GEN_AI_TOOL_NAME] for s in worklog.spans()]
        assert names == ["_module.<locals>.Client.build", "_module.<locals>.Client.fetch"]
        wl.uninstrument(module, "Client.fetch", "Client.build")
        assert vars(module.Client)["build"] is original_build

    def test_wraps_one_object_only_and_restores_the_class_method(self, worklog: WorklogCapture) -> None:
        module = _module()
        one, other = module.Client(), module.Client()
        wl.instrument(one, "fetch", kind="agent", name="fetcher")
        one.fetch("/a")
        other.fetch("/b")
        assert [s.name for s in worklog.spans()] == ["invoke_agent fetcher"]
        wl.uninstrument(one, "fetch")
        assert "fetch" not in vars(one)

    def test_the_decorators_options_reach_the_span(self, worklog: WorklogCapture) -> None:
        module = _module()
        wl.instrument(module, "lookup", name="weather", description="Today's weather", tool_type="extension")
        wl.instrument(module, "Client.fetch", kind="agent", name="fetcher", role="researcher")
        module.lookup("Paris")
        module.Client().fetch("/a")
        tool, agent = worklog.spans()
        assert (tool.name, agent.name) == ("execute_tool weather", "invoke_agent fetcher")
        assert attrs(tool)[sc.GEN_AI_TOOL_DESCRIPTION] == "Today's weather"
        assert attrs(tool)[sc.GEN_AI_TOOL_TYPE] == "extension"
        assert attrs(agent)[sc.BOT_ROLE] == "researcher"

    def test_an_option_the_kind_has_no_use_for_warns_and_the_function_is_still_wrapped(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        module = _module()
        with caplog.at_level(logging.WARNING, logger="otel_worklog"):
            assert wl.instrument(module, "lookup", role="researcher", new_trace=True) == ["lookup"]
        assert "instrument(kind='tool') has no use for role, new_trace; ignored" in caplog.text
        module.lookup("Oslo")
        (span,) = worklog.spans()
        assert sc.BOT_ROLE not in attrs(span)

    def test_unknown_kind_wraps_nothing(self, worklog: WorklogCapture) -> None:
        module = _module()
        assert wl.instrument(module, "lookup", kind="gadget") == []  # type: ignore[arg-type]  # as untyped code may

    def test_a_name_that_cannot_be_replaced_is_skipped_with_a_warning(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        module = _module()
        split = re.split
        with caplog.at_level(logging.WARNING, logger="otel_worklog"):
            assert wl.instrument(module, "__dict__", "lookup") == ["lookup"]  # __dict__ is read-only
            assert wl.instrument(str, "upper") == []  # a builtin type
            assert wl.instrument("re", "split") == []  # a string, not the module it names
        assert re.split is split
        assert "cannot instrument '__dict__'" in caplog.text and "cannot instrument 'upper'" in caplog.text
        assert "cannot instrument 'split': 're' is a string" in caplog.text
        assert module.lookup("Rome") == "sunny in Rome"
        assert [s.name for s in worklog.spans()] == ["execute_tool _module.<locals>.lookup"]
        assert wl.uninstrument(module, "__dict__", "lookup") == ["lookup"]


class TestExecutors:
    def test_thread_pool_work_lands_in_the_submitting_trace(self, worklog: WorklogCapture) -> None:
        @wl.tool(name="crawl")
        def crawl(url: str) -> str:
            return url

        with wl.workspace("#w"), wl.bot("researcher"):
            root = trace.get_current_span().get_span_context()
            with wl.ThreadPoolExecutor(max_workers=2) as pool:
                assert list(pool.map(crawl, ["a", "b", "c"])) == ["a", "b", "c"]
        spans = [s for s in worklog.spans() if s.name == "execute_tool crawl"]
        assert len(spans) == 3
        assert {s.context.trace_id for s in spans} == {root.trace_id}
        assert {parent_id(s) for s in spans} == {root.span_id}
        assert {attrs(s)[sc.BOT_NAME] for s in spans} == {"researcher"}

    def test_with_context_binds_a_callable_to_the_current_trace(self, worklog: WorklogCapture) -> None:
        import threading

        @wl.tool(name="later")
        def later() -> None:
            return None

        with wl.workspace("#w"):
            bound = wl.with_context(later)
            trace_id = trace.get_current_span().get_span_context().trace_id
        worker = threading.Thread(target=bound)
        worker.start()
        worker.join()
        assert worklog.span("execute_tool later").context.trace_id == trace_id
