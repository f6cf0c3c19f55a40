"""Shared set-up for the framework integrations: a recording into memory and a store, peers, CLI checks."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

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


#: (tool, bot) of the support scenario's tool calls, which every framework's tests run.
SUPPORT_TOOLS: Final = [("lookup_invoice", "billing_agent"), ("restart_router", "tech_agent")]


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

    def support_tool_spans(self) -> tuple[ReadableSpan, ReadableSpan]:
        """The two tool calls of the support scenario (billing looks up an invoice, tech restarts a router),
        each counted once for its agent: their spans, (lookup, restart)."""
        assert self.tools() == SUPPORT_TOOLS
        return self.one("execute_tool lookup_invoice"), self.one("execute_tool restart_router")

    def cli(self, *args: str) -> str:
        result = run_cli(*args, store=self.store)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json"))


@contextlib.contextmanager
def recording_into(store: Path, provider: TracerProvider | None = None, **settings: Any) -> Iterator[Recording]:
    """otel_worklog configured for the block (into ``provider``, when the test prepared one); ``settings`` go to
    ``wl.configure`` (detectors, max_value_length...)."""
    rec = Recording(store=store) if provider is None else Recording(store=store, provider=provider)
    # A tool called once per session, recorded twice, would be a loop of two.
    settings.setdefault("detectors", {"tool_loop": {"threshold": 2}})
    wl.configure(
        service_name="framework-tests",
        tracer_provider=rec.provider,
        exporters=[rec.exporter],
        store=str(rec.store),
        **settings,
    )
    wl.on_alert(rec.alerts.append)
    try:
        yield rec
    finally:
        remove_alert_callback(rec.alerts.append)
        wl.shutdown()
        rec.provider.shutdown()


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[Recording]:
    with recording_into(tmp_path / "worklog.db") as rec:
        yield rec


#: A session threshold every support app's two runs go over (each model call is 15 tokens).
TOKEN_THRESHOLD = 50
#: What the cost detector needs to fire on a framework run: the token threshold, the others off.
COSTLY: dict[str, Any] = {"cost_anomaly": {"tokens": TOKEN_THRESHOLD}, "error_loop": False, "tool_loop": False}


def assert_usage_is_analysed(store: Path, runs: Callable[[], None], tokens_by_bot: dict[str, int]) -> None:
    """The token usage of the framework ``runs`` reaches ``analyze compare`` per bot, and the cost detector,
    set to :data:`TOKEN_THRESHOLD`, fires on it."""
    with recording_into(store, detectors=COSTLY) as recording:
        runs()
        wl.force_flush()
        rows = recording.cli_json("analyze", "compare")  # one session: the average is the session's usage
        assert {row["bot"]: (row["avg_tokens"], row["sessions_with_usage"]) for row in rows} == {
            bot: (float(tokens), 1) for bot, tokens in tokens_by_bot.items()
        }
        assert [alert.kind for alert in recording.alerts] == ["cost_anomaly"]
        assert recording.alerts[0].workspace_id == "#support"


def assert_agent_failed(recording: Recording, agent: str, tool: str) -> None:
    """``agent`` failed because ``tool`` raised: both are failed spans, ``logs`` counts both, nothing stays current."""
    assert_nothing_current()
    assert recording.one(f"invoke_agent {agent}").status.status_code.name == "ERROR"
    assert recording.failures() == [f"invoke_agent {agent}", f"execute_tool {tool}"]
    (session,) = recording.cli_json("logs")
    assert session["errors"] == 2


def explained_support_session(recording: Recording, error: str | None = None) -> tuple[Any, Any]:
    """``logs`` and ``explain --json`` for a support app's two runs: one error, each tool call listed once by the
    agent that made it, lookup_invoice's secret redacted, and restart_router failed (with ``error``, when given)."""
    wl.force_flush()
    (session,) = recording.cli_json("logs")
    assert session["errors"] == 1
    log = recording.cli_json("explain")
    assert [(t["tool"], t["bot"], t["status"]) for t in log["tools"]] == [
        ("lookup_invoice", "billing_agent", "success"),
        ("restart_router", "tech_agent", "error"),
    ]
    assert log["tools"][0]["input"] == {"invoice_id": "INV-1", "api_key": "[REDACTED]"}
    if error is not None:
        assert log["tools"][1]["error"] == error
    return session, log


def separate_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    """A provider of the app's own, apart from otel_worklog's, exporting into memory."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def assert_truncated_like_wl_tool(recording: Recording, tool: str, scope: str = sc.INSTRUMENTATION_SCOPE) -> None:
    """The framework's call of ``tool`` and one ``@wl.tool`` call of the same function (the only other tool
    call) recorded the same truncated arguments and result."""
    framework = recording.one(f"execute_tool {tool}", scope)
    (decorated,) = [s for s in recording.counted(Kind.TOOL) if s is not framework]
    framework_attrs, decorated_attrs = recording.attrs(framework), recording.attrs(decorated)
    assert framework_attrs[sc.WORKLOG_TRUNCATED] is True
    for key in (sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_TOOL_CALL_RESULT):
        assert "truncated" in str(framework_attrs[key]), key
        assert framework_attrs[key] == decorated_attrs[key], key


def assert_next_root_has_no_parent(recording: Recording, run: Any) -> None:
    """After a run, the next run (outside any workspace) starts traces of its own: its roots have no parent,
    and none of its spans is a child of, or shares a trace with, an earlier span."""
    before = recording.spans()
    old_ids = {s.context.span_id for s in before}
    old_traces = {s.context.trace_id for s in before}
    run()
    assert_nothing_current()
    new = [s for s in recording.spans() if s.context.span_id not in old_ids]
    assert [s for s in new if s.parent is None], "the next run has no root"
    for span in new:
        assert span.context.trace_id not in old_traces, span.name
        assert span.parent is None or span.parent.span_id not in old_ids, span.name


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


#: How the frameworks' stdio MCP clients start the test MCP server (``mcp_server.py``) in a process of its own:
#: this Python, these arguments, from the checkout's root.
MCP_SERVER_ARGS: list[str] = ["-m", "tests.integrations.mcp_server"]
MCP_SERVER_CWD = str(Path(__file__).resolve().parents[2])

PEERS = ("openinference", "openllmetry")
ORDERS = ("peer-first", "worklog-first")
