"""Workspace, bot, escalation and handoff spans, and the scope stamped on every span."""

from __future__ import annotations

import logging
import threading

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
from opentelemetry.trace import StatusCode

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs, parent_id


class TestWorkspace:
    def test_root_span_carries_the_workspace(self, worklog: WorklogCapture) -> None:
        with wl.workspace(
            "#project-refactor",
            type="project",
            participants=["nanobot", "researcher", "coder"],
            coordinator="nanobot",
            query="Refactor the authentication module",
        ):
            pass
        span = worklog.span("workspace #project-refactor")
        assert span.parent is None
        assert dict(span.attributes or {}) == {
            sc.WORKSPACE_ID: "#project-refactor",
            sc.WORKSPACE_TYPE: "project",
            sc.WORKSPACE_PARTICIPANTS: ("nanobot", "researcher", "coder"),
            sc.WORKSPACE_COORDINATOR: "nanobot",
            sc.WORKLOG_QUERY: "Refactor the authentication module",
        }

    @pytest.mark.parametrize("bad_id", ["", None, 42])
    def test_bad_workspace_id_opens_under_a_placeholder_and_keeps_entries(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture, bad_id: object
    ) -> None:
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            with wl.workspace(bad_id) as ws:  # type: ignore[arg-type]
                wl.info("still recorded")
        assert ws.id == "unknown-workspace"
        span = worklog.span("workspace unknown-workspace")
        assert attrs(span)[sc.WORKSPACE_ID_INVALID] == repr(bad_id)
        assert [attrs(e)[sc.WORKLOG_MESSAGE] for e in span.events] == ["still recorded"]
        assert "workspace id must be a non-empty string" in caplog.text

    def test_exception_marks_the_workspace_failed_and_propagates(self, worklog: WorklogCapture) -> None:
        error = RuntimeError("boom")
        with pytest.raises(RuntimeError) as raised, wl.workspace("#a"):
            raise error
        assert raised.value is error
        span = worklog.span("workspace #a")
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)[sc.ERROR_TYPE] == "RuntimeError"


class TestBot:
    def test_bot_span_follows_the_genai_agent_conventions(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#general"), wl.bot("researcher", role="specialist", triggered_by="nanobot"):
            pass
        span = worklog.span("invoke_agent researcher")
        assert attrs(span)[sc.BOT_NAME] == "researcher"
        assert attrs(span)[sc.BOT_ROLE] == "specialist"
        assert attrs(span)[sc.BOT_TRIGGERED_BY] == "nanobot"
        assert attrs(span)[sc.GEN_AI_OPERATION_NAME] == "invoke_agent"
        assert attrs(span)[sc.GEN_AI_AGENT_NAME] == "researcher"
        assert attrs(span)[sc.WORKSPACE_ID] == "#general"
        assert parent_id(span) == worklog.span("workspace #general").context.span_id

    def test_agent_decorator_is_the_bot_span(self, worklog: WorklogCapture) -> None:
        @wl.agent(name="coder", role="specialist")
        def code() -> str:
            wl.decision("write rate limiter", confidence=0.9)
            return "done"

        with wl.workspace("#p"):
            assert code() == "done"
        span = worklog.span("invoke_agent coder")
        assert attrs(span)[sc.BOT_NAME] == "coder"
        assert [e.name for e in span.events] == ["worklog.decision"]


class TestScopeOnEverySpan:
    def test_spans_of_other_instrumentations_get_workspace_and_bot(self, worklog: WorklogCapture) -> None:
        """An HTTP client span inside a tool must be filterable by workspace and bot."""
        other = worklog.provider.get_tracer("some.http.client")
        with wl.workspace("#general"), wl.bot("nanobot"):
            with other.start_as_current_span("GET /weather"):
                pass
        span = worklog.span("GET /weather")
        assert attrs(span)[sc.WORKSPACE_ID] == "#general"
        assert attrs(span)[sc.BOT_NAME] == "nanobot"

    def test_inner_bot_wins_and_outer_bot_returns(self, worklog: WorklogCapture) -> None:
        tracer = worklog.provider.get_tracer("t")
        with wl.workspace("#w"), wl.bot("nanobot"):
            with wl.bot("coder"):
                tracer.start_span("inner").end()
            tracer.start_span("after").end()
        assert attrs(worklog.span("inner"))[sc.BOT_NAME] == "coder"
        assert attrs(worklog.span("after"))[sc.BOT_NAME] == "nanobot"


class TestNoLeaks:
    def test_context_is_restored_after_return_and_exception(self, worklog: WorklogCapture) -> None:
        before = otel_context.get_current()
        with wl.workspace("#a"), wl.bot("nanobot"):
            pass
        assert otel_context.get_current() == before
        with pytest.raises(ValueError), wl.workspace("#a"), wl.bot("nanobot"):
            raise ValueError("x")
        assert otel_context.get_current() == before
        assert trace.get_current_span() is trace.INVALID_SPAN


class TestEscalation:
    def test_escalation_is_its_own_span_with_workspace_and_bot(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#coordination-website", type="coordination"), wl.bot("nanobot"):
            escalation = wl.escalate("Design conflict: need user decision", details={"options": 2})
        span = worklog.span("escalation")
        assert attrs(span)[sc.WORKLOG_ESCALATION] is True
        assert attrs(span)[sc.WORKLOG_ESCALATION_REASON] == "Design conflict: need user decision"
        assert attrs(span)[sc.WORKSPACE_ID] == "#coordination-website"
        assert attrs(span)[sc.BOT_NAME] == "nanobot"
        (event,) = span.events
        assert event.name == "worklog.coordination"
        assert attrs(event)[sc.WORKLOG_CATEGORY] == "escalation"
        assert attrs(event)["worklog.details.options"] == 2
        assert escalation.span_id == trace.format_span_id(span.context.span_id)
        assert span.end_time is not None

    def test_resolving_an_escalation_records_the_resolution(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w"), wl.bot("nanobot"):
            escalation = wl.escalate("pick a design")
            escalation.resolve("user chose minimalist")
        (event,) = [e for e in worklog.span("invoke_agent nanobot").events if e.name == sc.EVENT_ESCALATION_RESOLVED]
        assert attrs(event)[sc.WORKLOG_ESCALATION_SPAN_ID] == escalation.span_id
        assert attrs(event)[sc.WORKLOG_ESCALATION_RESOLUTION] == "user chose minimalist"

    def test_escalation_survives_a_sampler_that_drops_everything(self) -> None:
        """OTEL_TRACES_SAMPLER=traceidratio with _ARG=0: only the escalation is exported."""
        exporter = InMemorySpanExporter()
        provider = TracerProvider(sampler=wl.WorklogSampler(TraceIdRatioBased(0.0)))
        wl.configure(tracer_provider=provider, exporters=[exporter], store=False)
        try:
            with wl.workspace("#w"), wl.bot("nanobot"):
                wl.info("dropped with its span")
                wl.escalate("needs a human")
            wl.force_flush()
            spans = exporter.get_finished_spans()
            assert [s.name for s in spans] == ["escalation"]
            assert attrs(spans[0])[sc.WORKSPACE_ID] == "#w"
            assert attrs(spans[0])[sc.BOT_NAME] == "nanobot"
        finally:
            wl.shutdown()

    def test_sampler_from_environment_keeps_escalations(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """configure() without a provider builds its sampler from OTEL_TRACES_SAMPLER, wrapped."""
        monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
        monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
        exporter = InMemorySpanExporter()
        wl.configure(exporters=[exporter], store=False)
        try:
            with wl.workspace("#w"), wl.bot("nanobot"):
                wl.escalate("needs a human")
            wl.force_flush()
            assert [s.name for s in exporter.get_finished_spans()] == ["escalation"]
        finally:
            monkeypatch.delenv("OTEL_TRACES_SAMPLER")
            monkeypatch.delenv("OTEL_TRACES_SAMPLER_ARG")
            wl.configure(exporters=[], store=False)
            wl.shutdown()


class TestHandoff:
    def test_handoff_span_is_complete_when_handoff_returns(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#p"), wl.bot("nanobot"):
            h = wl.handoff("coder", artifacts=["spec.md"], reason="implement rate limiting")
            assert worklog.span("handoff nanobot -> coder").end_time is not None
        span = worklog.span("handoff nanobot -> coder")
        assert attrs(span)[sc.WORKLOG_HANDOFF_FROM] == "nanobot"
        assert attrs(span)[sc.WORKLOG_HANDOFF_TO] == "coder"
        assert attrs(span)[sc.WORKLOG_HANDOFF_ARTIFACTS] == ("spec.md",)
        assert attrs(span)[sc.WORKLOG_HANDOFF_REASON] == "implement rate limiting"
        assert set(h.carrier) >= {"traceparent", "baggage"}
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in h.carrier.items())

    def test_receiver_in_another_thread_continues_the_trace_and_links(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#p"), wl.bot("nanobot"):
            h = wl.handoff("coder")

        def receive() -> None:
            with wl.bot("coder", handoff=h.carrier):
                wl.info("picked up")

        worker = threading.Thread(target=receive)
        worker.start()
        worker.join()
        handoff_span = worklog.span("handoff nanobot -> coder")
        coder = worklog.span("invoke_agent coder")
        assert coder.context.trace_id == handoff_span.context.trace_id
        assert parent_id(coder) == handoff_span.context.span_id
        (link,) = coder.links
        assert link.context.span_id == handoff_span.context.span_id
        assert attrs(link)[sc.WORKLOG_LINK_TYPE] == "handoff"
        assert attrs(coder)[sc.WORKSPACE_ID] == "#p"
        assert attrs(coder)[sc.BOT_TRIGGERED_BY] == "nanobot"

    def test_late_work_starts_a_new_trace_that_only_links(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#p"), wl.bot("nanobot"):
            h = wl.handoff("coder")
        with wl.bot("coder", handoff=h, new_trace=True):
            pass
        handoff_span = worklog.span("handoff nanobot -> coder")
        coder = worklog.span("invoke_agent coder")
        assert coder.parent is None
        assert coder.context.trace_id != handoff_span.context.trace_id
        assert coder.links[0].context.span_id == handoff_span.context.span_id

    @pytest.mark.parametrize("garbage", [{"traceparent": "nonsense"}, "not json", 12, {"x": 1}])
    def test_garbage_carrier_warns_and_the_bot_still_runs(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture, garbage: object
    ) -> None:
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            with wl.bot("coder", handoff=garbage):  # type: ignore[arg-type]
                wl.info("working anyway")
        coder = worklog.span("invoke_agent coder")
        assert attrs(coder)[sc.WORKLOG_HANDOFF_INVALID] is True
        assert len(coder.events) == 1
        assert "handoff" in caplog.text
