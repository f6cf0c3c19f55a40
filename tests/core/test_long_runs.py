"""Long agent runs against the real SDK's limits: nothing recorded is lost silently.

The SDK keeps a span's newest ``OTEL_SPAN_EVENT_COUNT_LIMIT`` events (128) and an event's newest
``OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`` attributes (128), evicting the oldest without a word.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog.testing import WorklogCapture
from tests.cli.scenario import run_cli
from tests.recorded import attrs, dropped_attrs, int_attr, parent_id


def _steps(spans: list[ReadableSpan]) -> list[int]:
    """Steps of every work-log entry in the exported spans, in step order."""
    return sorted(
        int_attr(e, sc.WORKLOG_STEP)
        for s in spans
        for e in s.events
        if e.attributes and sc.WORKLOG_STEP in e.attributes
    )


class TestEntriesPastTheEventLimit:
    def test_200_decisions_in_one_bot_span_are_all_kept_in_step_order(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#long"), wl.bot("researcher") as researcher:
            steps = [wl.decision(f"finding {i}", confidence=0.9) for i in range(1, 201)]
        assert steps == list(range(1, 201))
        entries = worklog.events("decision")
        assert [attrs(e)[sc.WORKLOG_STEP] for _, e in entries] == list(range(1, 201))
        assert [attrs(e)[sc.WORKLOG_MESSAGE] for _, e in entries] == [f"finding {i}" for i in range(1, 201)]
        bot_span = worklog.span("invoke_agent researcher")
        continued = worklog.span("continued: invoke_agent researcher")
        assert len(bot_span.events) == 127  # one slot stays free for a failure's exception event
        assert len(continued.events) == 73
        assert parent_id(continued) == bot_span.context.span_id
        assert continued.context.trace_id == int(researcher.trace_id, 16)
        assert attrs(continued)[sc.BOT_NAME] == "researcher"
        assert attrs(continued)[sc.WORKSPACE_ID] == "#long"
        assert attrs(continued)[sc.WORKLOG_CONTINUATION] == 1
        assert sc.GEN_AI_OPERATION_NAME not in attrs(continued)  # no view counts it as another bot
        assert continued.end_time is not None and bot_span.end_time is not None
        assert continued.end_time <= bot_span.end_time

    def test_a_workspace_continues_on_as_many_spans_as_it_needs(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w"):
            for i in range(300):
                wl.info(f"note {i}")
        spans = worklog.spans()
        continued = sorted(
            (s for s in spans if s.name == "continued: workspace #w"),
            key=lambda s: int_attr(s, sc.WORKLOG_CONTINUATION),
        )
        assert [len(s.events) for s in continued] == [128, 45]
        assert [attrs(s)[sc.WORKLOG_CONTINUATION] for s in continued] == [1, 2]
        assert _steps(spans) == list(range(1, 301))

    def test_a_failed_bot_keeps_its_entries_and_its_exception(self, worklog: WorklogCapture) -> None:
        with pytest.raises(RuntimeError), wl.workspace("#w"), wl.bot("coder"):
            for i in range(150):
                wl.info(f"step {i}")
            raise RuntimeError("gave up")
        bot_span = worklog.span("invoke_agent coder")
        assert bot_span.status.status_code is StatusCode.ERROR
        assert bot_span.events[-1].name == "exception"
        assert attrs(bot_span.events[0])[sc.WORKLOG_MESSAGE] == "step 0"
        assert _steps(worklog.spans()) == list(range(1, 151))

    def test_a_tool_span_continues_too(self, worklog: WorklogCapture) -> None:
        @wl.tool(name="crawl")
        def crawl() -> str:
            for i in range(130):
                wl.thinking(f"page {i}")
            return "ok"

        with wl.workspace("#w"), wl.bot("researcher"):
            crawl()
        assert len(worklog.span("execute_tool crawl").events) == 127
        continued = worklog.span("continued: execute_tool crawl")
        assert len(continued.events) == 3
        assert sc.GEN_AI_OPERATION_NAME not in attrs(continued)  # not counted as a second tool call
        assert _steps(worklog.spans()) == list(range(1, 131))

    def test_an_open_ended_start_end_scope_continues_and_ends_its_continuation(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w"):
            scope = wl.bot("triage").start()
            for i in range(140):
                wl.info(f"{i}")
            scope.end()
        assert worklog.span("continued: invoke_agent triage").end_time is not None
        assert _steps(worklog.spans()) == list(range(1, 141))

    def test_the_limit_comes_from_the_standard_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OTEL_SPAN_EVENT_COUNT_LIMIT", "10")
        exporter = InMemorySpanExporter()
        provider = TracerProvider()  # the SDK reads the same variable
        wl.configure(tracer_provider=provider, exporters=[exporter], store=False)
        try:
            with wl.workspace("#w"), wl.bot("b"):
                for i in range(25):
                    wl.info(f"{i}")
            wl.force_flush()
            spans = exporter.get_finished_spans()
            assert sorted(len(s.events) for s in spans if s.name != "workspace #w") == [6, 9, 10]
            assert _steps(list(spans)) == list(range(1, 26))
        finally:
            wl.shutdown()
            monkeypatch.delenv("OTEL_SPAN_EVENT_COUNT_LIMIT")
            wl.configure(tracer_provider=provider, exporters=[exporter], store=False)
            wl.shutdown()

    def test_the_cli_shows_every_entry_of_a_long_run(self, tmp_path: Path) -> None:
        store = tmp_path / "worklog.db"
        provider = TracerProvider()
        wl.configure(tracer_provider=provider, store=str(store))
        try:
            with wl.workspace("#long"), wl.bot("researcher"):
                for i in range(1, 201):
                    wl.decision(f"finding {i}", confidence=0.9)
        finally:
            wl.shutdown()
        done = run_cli("explain", "--json", store=store)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        decisions = [e for e in data["entries"] if e["level"] == "decision"]
        assert [e["step"] for e in decisions] == list(range(1, 201))
        assert {e["bot"] for e in decisions} == {"researcher"}
        logs = json.loads(run_cli("logs", "--json", store=store).stdout)
        assert logs[0]["bots"] == ["researcher"]


class TestForeignSpans:
    """Spans other code started cannot continue: what their limit drops is counted when they end."""

    def test_entries_past_the_limit_are_counted_and_warned_once(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        tracer = worklog.provider.get_tracer("another.instrumentation")
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            for request in ("POST /agent", "POST /agent again"):
                with tracer.start_as_current_span(request):
                    for i in range(140):
                        wl.info(f"{i}")
            first = [r.getMessage() for r in caplog.records if "lost" in r.getMessage()]
            assert first == [
                "otel_worklog: span 'POST /agent' lost 12 work-log entries to the span event limit "
                "(OTEL_SPAN_EVENT_COUNT_LIMIT=128): only spans otel_worklog starts continue on a new span. Log inside "
                "wl.bot(), wl.workspace() or @wl.tool, or raise the limit. The number lost is reported at shutdown."
            ]
            wl.shutdown()
        assert "otel_worklog: 24 work-log entries were lost to the span event limit" in caplog.text

    def test_spans_we_do_not_start_never_get_a_continuation(self, worklog: WorklogCapture) -> None:
        tracer = worklog.provider.get_tracer("another.instrumentation")
        with tracer.start_as_current_span("POST /agent"):
            for i in range(130):
                wl.info(f"{i}")
        assert [s.name for s in worklog.spans()] == ["POST /agent"]

    def test_spans_without_entries_are_not_counted(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        tracer = worklog.provider.get_tracer("another.instrumentation")
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            with tracer.start_as_current_span("chatty") as span:
                for i in range(140):
                    span.add_event(f"tick {i}")
            wl.shutdown()
        assert "lost" not in caplog.text


class TestManyDetails:
    def test_an_entry_with_300_details_keeps_its_core_attributes(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        details = {f"key_{i:03d}": i for i in range(300)}
        with caplog.at_level(logging.WARNING, "otel_worklog"), wl.workspace("#w"), wl.bot("b"):
            step = wl.decision(
                "chose plan B", confidence=0.95, details=details, mentions=["coder"], response_to=1, category="plan"
            )
        ((_, event),) = worklog.events()
        attributes = attrs(event)
        assert attributes[sc.WORKLOG_MESSAGE] == "chose plan B"
        assert attributes[sc.WORKLOG_LEVEL] == "decision"
        assert attributes[sc.WORKLOG_STEP] == step
        assert attributes[sc.WORKLOG_CATEGORY] == "plan"
        assert attributes[sc.WORKLOG_CONFIDENCE] == 0.95
        assert attributes[sc.WORKLOG_MENTIONS] == ("coder",)
        assert attributes[sc.WORKLOG_RESPONSE_TO] == 1
        kept = [k for k in attributes if k.startswith(sc.WORKLOG_DETAILS_PREFIX)]
        assert kept == [f"{sc.WORKLOG_DETAILS_PREFIX}key_{i:03d}" for i in range(len(kept))]  # the first ones
        assert attributes[sc.WORKLOG_DETAILS_DROPPED] == 300 - len(kept)
        assert len(attributes) <= 128
        assert dropped_attrs(event) == 0  # the SDK evicted nothing
        assert "kept the first" in caplog.text

    def test_flags_after_the_details_survive_too(self, worklog: WorklogCapture) -> None:
        worklog.configure(max_value_length=20)
        details = {f"k{i}": "x" for i in range(200)}
        with wl.workspace("#w"):
            wl.info("a message much longer than twenty characters", details=details)
        ((_, event),) = worklog.events()
        assert attrs(event)[sc.WORKLOG_TRUNCATED] is True
        assert attrs(event)[sc.WORKLOG_LEVEL] == "info"
        assert dropped_attrs(event) == 0

    def test_details_that_fit_are_all_kept(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w"):
            wl.info("few", details={"a": 1, "b": "two"})
        ((_, event),) = worklog.events()
        assert attrs(event)["worklog.details.a"] == 1
        assert sc.WORKLOG_DETAILS_DROPPED not in attrs(event)
