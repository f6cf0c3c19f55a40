"""Shared set-up for the framework integrations: a recording into memory and a store, peers, CLI checks."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline.detectors.alerts import Alert, remove_alert_callback
from otel_worklog._internal.record.scope import current_scope
from otel_worklog._internal.span_kinds import Kind, classify, counts_usage, is_failure, tool_name
from tests.cli.scenario import run_cli


def require(module: str, extra: str) -> Any:
    """Import a framework (or a peer instrumentor); skip without it locally, fail in CI, which installs the extras.

    CI's second run, on the oldest OpenTelemetry releases, has no frameworks: it sets no
    WORKLOG_TESTS_REQUIRE_FRAMEWORKS, so there they skip.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is not installed: pip install 'otel-worklog[{extra}]' (CI installs every extra)"
        if os.environ.get("WORKLOG_TESTS_REQUIRE_FRAMEWORKS") == "1":
            pytest.fail(message)
        pytest.skip(message, allow_module_level=True)


def scope_of(span: ReadableSpan) -> str:
    """The instrumentation scope that recorded ``span`` (``otel_worklog`` for ours)."""
    return span.instrumentation_scope.name if span.instrumentation_scope is not None else ""


def exception_type(span: ReadableSpan) -> str | None:
    for event in span.events:
        if event.name == "exception" and event.attributes:
            value = event.attributes.get("exception.type")
            return str(value) if value is not None else None
    return None


@dataclass
class Recording:
    """otel_worklog configured into memory (for span assertions) and a store (for the CLI), detectors on."""

    store: Path
    provider: TracerProvider = field(default_factory=TracerProvider)
    exporter: InMemorySpanExporter = field(default_factory=InMemorySpanExporter)
    alerts: list[Alert] = field(default_factory=list)

    def spans(self) -> list[ReadableSpan]:
        wl.force_flush()
        return sorted(self.exporter.get_finished_spans(), key=lambda s: s.start_time or 0)

    def attrs(self, span: ReadableSpan) -> dict[str, Any]:
        return dict(span.attributes or {})

    def counted(self, kind: Kind) -> list[ReadableSpan]:
        """The spans that count as ``kind`` (copies marked ``worklog.duplicate_of`` do not)."""
        return [s for s in self.spans() if classify(s.name, s.attributes or {}) is kind]

    def tools(self) -> list[tuple[str, str | None]]:
        """(tool, bot) of every tool call that counts, in start order."""
        return [
            (tool_name(s.name, s.attributes or {}), self.attrs(s).get(sc.BOT_NAME)) for s in self.counted(Kind.TOOL)
        ]

    def bots(self) -> list[str | None]:
        return [self.attrs(s).get(sc.BOT_NAME) for s in self.counted(Kind.BOT)]

    def handoffs(self) -> list[str]:
        return [s.name for s in self.counted(Kind.HANDOFF)]

    def failures(self) -> list[str]:
        return [
            s.name
            for s in self.spans()
            if is_failure(s.status.status_code.name == "ERROR", s.attributes or {}, exception_type(s))
        ]

    def tokens(self) -> int:
        return sum(
            int(self.attrs(s).get(sc.GEN_AI_USAGE_INPUT_TOKENS, 0))
            + int(self.attrs(s).get(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 0))
            for s in self.spans()
            if counts_usage(s.attributes or {})
        )

    def shape(self) -> list[tuple[str, str | None, str | None, int]]:
        """Each span of ours but alerts as (name, parent name, bot, links): what a plain and a streamed run share."""
        spans = [
            s
            for s in self.spans()
            if scope_of(s) == sc.INSTRUMENTATION_SCOPE and classify(s.name, s.attributes or {}) is not Kind.ALERT
        ]
        names = {s.context.span_id: s.name for s in spans}
        return [
            (s.name, names.get(s.parent.span_id) if s.parent else None, self.attrs(s).get(sc.BOT_NAME), len(s.links))
            for s in spans
        ]

    def by_id(self) -> dict[int, ReadableSpan]:
        return {s.context.span_id: s for s in self.spans()}

    def one(self, name: str, scope: str = sc.INSTRUMENTATION_SCOPE) -> ReadableSpan:
        found = [s for s in self.spans() if s.name == name and scope_of(s) == scope]
        assert len(found) == 1, f"{name}: {[s.name for s in self.spans()]}"
        return found[0]

    def cli(self, *args: str) -> str:
        result = run_cli(*args, store=self.store)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json"))


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[Recording]:
    rec = Recording(store=tmp_path / "worklog.db")
    wl.configure(
        service_name="framework-tests",
        tracer_provider=rec.provider,
        exporters=[rec.exporter],
        store=str(rec.store),
        # A tool called once per session, recorded twice, would be a loop of two.
        detectors={"tool_loop": {"threshold": 2}},
    )
    wl.on_alert(rec.alerts.append)
    try:
        yield rec
    finally:
        remove_alert_callback(rec.alerts.append)
        wl.shutdown()
        rec.provider.shutdown()


def assert_nothing_current() -> None:
    """After a run: no span and no bot scope stays current."""
    assert not trace.get_current_span().get_span_context().is_valid
    assert current_scope() is None


@contextlib.contextmanager
def peer(instrumentor: Any, provider: TracerProvider, **options: Any) -> Iterator[None]:
    """A peer instrumentor (OpenInference, OpenLLMetry) instrumented for the block, then removed."""
    instrumentor.instrument(tracer_provider=provider, **options)
    try:
        yield
    finally:
        instrumentor.uninstrument()


PEERS = ("openinference", "openllmetry")
ORDERS = ("peer-first", "worklog-first")
