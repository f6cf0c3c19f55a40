"""configure(): settings precedence, standard OTEL_* variables, repeat calls and existing providers."""

from __future__ import annotations

import logging

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_worklog as wl
from otel_worklog._internal import settings as params
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs


class TestRegistry:
    def test_argument_beats_environment_beats_default(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert params.resolve(params.INFO_SAMPLE_RATE) == 1.0
        monkeypatch.setenv("OTEL_WORKLOG_INFO_SAMPLE_RATE", "0.25")
        assert params.resolve(params.INFO_SAMPLE_RATE) == 0.25
        assert params.resolve(params.INFO_SAMPLE_RATE, 0.5) == 0.5

    @pytest.mark.parametrize("raw", ["lots", "1.5", "nan", "-1"])
    def test_bad_environment_value_warns_and_falls_back(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, raw: str
    ) -> None:
        monkeypatch.setenv("OTEL_WORKLOG_INFO_SAMPLE_RATE", raw)
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            assert params.resolve(params.INFO_SAMPLE_RATE) == 1.0
        assert "OTEL_WORKLOG_INFO_SAMPLE_RATE" in caplog.text

    def test_bad_argument_falls_back_to_environment(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setenv("OTEL_WORKLOG_CAPTURE_CONTENT", "false")
        with caplog.at_level(logging.WARNING, "otel_worklog"):
            assert params.resolve(params.CAPTURE_CONTENT, "maybe") is False
        assert "ignoring capture_content='maybe'" in caplog.text

    def test_every_setting_has_its_own_worklog_variable(self) -> None:
        envs = [s.env for s in params.REGISTRY.values()]
        assert all(env.startswith("OTEL_WORKLOG_") for env in envs)
        assert len(envs) == len(set(envs))


class TestConfigure:
    def test_existing_provider_keeps_its_processors(self) -> None:
        theirs = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(theirs))
        ours = InMemorySpanExporter()
        returned = wl.configure(tracer_provider=provider, exporters=[ours], store=False)
        try:
            assert returned is provider
            with wl.workspace("#w"):
                pass
            wl.force_flush()
            assert [s.name for s in theirs.get_finished_spans()] == ["workspace #w"]
            assert [s.name for s in ours.get_finished_spans()] == ["workspace #w"]
        finally:
            wl.shutdown()

    def test_calling_twice_does_not_duplicate_spans(self, worklog: WorklogCapture) -> None:
        worklog.configure()
        worklog.configure()
        with wl.workspace("#w"):
            pass
        assert [s.name for s in worklog.spans()] == ["workspace #w"]

    def test_second_configure_applies_new_settings(self, worklog: WorklogCapture) -> None:
        worklog.configure(redact=False)
        with wl.workspace("#w"):
            wl.info("key sk-proj-abcdefghijklmnopqrstuvwxyz")
        worklog.configure(redact=True)
        with wl.workspace("#w"):
            wl.info("key sk-proj-abcdefghijklmnopqrstuvwxyz")
        messages = [attrs(e)["worklog.message"] for _, e in worklog.events()]
        assert messages == ["key sk-proj-abcdefghijklmnopqrstuvwxyz", "key [REDACTED:openai_key]"]

    def test_sdk_disabled_returns_a_no_op_provider(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
        exporter = InMemorySpanExporter()
        provider = wl.configure(exporters=[exporter], store=False)
        assert isinstance(provider, trace.NoOpTracerProvider)
        with wl.workspace("#w"):
            assert wl.info("nothing") == 0
        assert exporter.get_finished_spans() == ()

    def test_service_name_argument_beats_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
        monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
        from otel_worklog._internal.pipeline.configure import _resource

        assert _resource(None).attributes["service.name"] == "from-env"
        assert _resource(None).attributes["deployment.environment"] == "test"
        assert _resource("my-bots").attributes["service.name"] == "my-bots"
        monkeypatch.delenv("OTEL_SERVICE_NAME")
        monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES")
        assert _resource(None).attributes["service.name"] == "otel-worklog"

    def test_explicit_tracer_provider_on_an_entry_point_works_without_configure(self) -> None:
        wl.shutdown()
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))

        @wl.tool(name="add", tracer_provider=provider)
        def add(a: int, b: int) -> int:
            return a + b

        with wl.workspace("#w", tracer_provider=provider), wl.bot("nanobot", tracer_provider=provider):
            assert add(1, 2) == 3
            wl.escalate("help", tracer_provider=provider)
        assert sorted(s.name for s in exporter.get_finished_spans()) == [
            "escalation",
            "execute_tool add",
            "invoke_agent nanobot",
            "workspace #w",
        ]

    def test_export_stats_count_exported_spans(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#w"):
            pass
        worklog.spans()
        (stats,) = wl.export_stats()
        assert stats.exported == 1
        assert stats.dropped == 0
