"""Embedded store and CLI speed: ``python benchmarks/bench_store.py [--spans 100000]``.

Measures, in one run:
- ingest: spans/s written into a fresh store through the store exporter, in the batch size the SDK's batch
  processor hands it (2,048), counted back afterwards (no loss allowed); plus the same through
  ``wl.configure(store=...)`` and its batch processor, end to end;
- over a store of 100,000 spans: ``logs``, ``explain`` of the latest session and ``how`` -- the CLI-level work
  (the command functions themselves: open the store, query, build the work log, render the rich output) timed
  in-process, and the real ``otel-worklog`` command timed as a subprocess (which adds interpreter start-up and
  imports; ``otel-worklog --help`` alone is shown for comparison).
Targets (issue 3): ingest >= 20,000 spans/s; explain and how < 300 ms; logs < 200 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.types import AttributeValue

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import otel_worklog as wl  # noqa: E402
from otel_worklog._internal import semconv as sc  # noqa: E402
from otel_worklog._internal.cli.explain import explain as explain_command  # noqa: E402
from otel_worklog._internal.cli.how import how as how_command  # noqa: E402
from otel_worklog._internal.cli.logs import logs as logs_command  # noqa: E402
from otel_worklog._internal.query.readers import StoreReader  # noqa: E402
from otel_worklog._internal.store.exporter import StoreSpanExporter  # noqa: E402

SPANS_PER_SESSION = 50
BATCH = 2048
WORDS = ("rate limit", "password policy", "cache", "deploy", "schema", "latency", "retry", "design", "budget", "auth")


def make_spans(total: int) -> list[ReadableSpan]:
    """Realistic sessions: a workspace, 4 bots, tools with JSON args/results, entries, handoffs, escalations."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    sessions = total // SPANS_PER_SESSION
    step = 0
    for n in range(sessions):
        ws = f"#project-{n % 40}"
        base = {sc.WORKSPACE_ID: ws}
        with tracer.start_as_current_span(
            f"workspace {ws}", attributes={**base, sc.WORKSPACE_TYPE: "project", sc.WORKLOG_QUERY: f"job {n}"}
        ):
            made = 1
            for b in range(4):
                bot = ("nanobot", "researcher", "coder", "creative")[b]
                attrs = {**base, sc.BOT_NAME: bot, sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT}
                with tracer.start_as_current_span(f"invoke_agent {bot}", attributes=attrs) as span:
                    made += 1
                    for i in range(11 if b < 3 else 12):  # 1 + 4 + 3 * 11 + 12 = 50 spans a session
                        step += 1
                        word = WORDS[(n + i + b) % len(WORDS)]
                        extra: dict[str, AttributeValue]
                        if i == 5 and b == 0 and n % 10 == 0:
                            name, extra = (
                                sc.ESCALATION_SPAN_NAME,
                                {sc.WORKLOG_ESCALATION: True, sc.WORKLOG_ESCALATION_REASON: f"Need a human on {word}"},
                            )
                        else:
                            name, extra = (
                                f"execute_tool tool_{i}",
                                {
                                    sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
                                    sc.GEN_AI_TOOL_NAME: f"tool_{i}",
                                    sc.GEN_AI_TOOL_CALL_ARGUMENTS: json.dumps({"query": word, "limit": 10}),
                                    sc.GEN_AI_TOOL_CALL_RESULT: '{"items": 3, "status": "ok"}',
                                    sc.WORKLOG_TOOL_STATUS: "success",
                                },
                            )
                        with tracer.start_as_current_span(name, attributes={**base, sc.BOT_NAME: bot, **extra}) as t:
                            t.add_event(
                                sc.event_name("decision"),
                                {
                                    sc.WORKLOG_LEVEL: "decision",
                                    sc.WORKLOG_CATEGORY: "tool",
                                    sc.WORKLOG_MESSAGE: f"{bot} chose to look at the {word} question, step {step}",
                                    sc.WORKLOG_STEP: step,
                                    sc.WORKLOG_CONFIDENCE: 0.5 + (i % 5) / 10,
                                },
                            )
                        made += 1
                    span.add_event(
                        sc.event_name("info"),
                        {sc.WORKLOG_LEVEL: "info", sc.WORKLOG_MESSAGE: f"{bot} finished", sc.WORKLOG_STEP: step},
                    )
    spans = list(memory.get_finished_spans())
    provider.shutdown()
    return spans


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm the page cache once, like a second CLI call would
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def cli_ms(args: list[str], runs: int) -> float:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="160")
    command = [sys.executable, "-m", "otel_worklog._internal.cli", *args]

    def run() -> None:
        done = subprocess.run(command, capture_output=True, env=env, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {done.stderr.decode()[-500:]}")

    return median_ms(run, runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    options = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        spans = make_spans(options.spans)
        rates = []
        for attempt in range(3):  # a fresh store each time; the last one is kept for the queries below
            path = Path(tmp) / f"bench{attempt}.db"
            exporter = StoreSpanExporter(path, retention_days=0)
            t0 = time.perf_counter()
            for start in range(0, len(spans), BATCH):
                exporter.export(spans[start : start + BATCH])
            rates.append(len(spans) / (time.perf_counter() - t0))
            exporter.shutdown()
        with StoreReader(path) as reader:
            stored = sum(s.span_count for s in reader.sessions(limit=10**9))
        rate = statistics.median(rates)
        rows.append(
            (
                f"ingest through the exporter (median of 3, batches of {BATCH})",
                f"{rate:,.0f} spans/s",
                ">= 20,000 spans/s",
                _ok(rate >= 20_000) + f" (min {min(rates):,.0f}, max {max(rates):,.0f})",
            )
        )
        rows.append(("  spans stored / exported", f"{stored:,} / {len(spans):,}", "no loss", _ok(stored == len(spans))))

        # End to end: the public API's configure() with the store behind its batch processor.
        e2e = Path(tmp) / "e2e.db"
        provider = wl.configure(service_name="bench", store=str(e2e))
        tracer = trace.get_tracer(sc.INSTRUMENTATION_SCOPE, tracer_provider=provider)
        burst = 50_000
        t0 = time.perf_counter()
        for _ in range(burst):
            with tracer.start_as_current_span("execute_tool t", attributes={sc.BOT_NAME: "b", sc.WORKSPACE_ID: "#b"}):
                pass
        wl.shutdown()
        elapsed = time.perf_counter() - t0
        with StoreReader(e2e) as reader:
            kept = sum(s.span_count for s in reader.sessions(limit=10**9))
        rows.append(
            (
                f"burst of {burst:,} via configure(store=)",
                f"{burst / elapsed:,.0f} spans/s",
                "no loss",
                _ok(kept == burst) + f" ({kept:,} stored)",
            )
        )

        store = str(path)

        def cli(fn: Callable[..., None], *args: object, **kwargs: object) -> Callable[[], None]:
            """The command's own function, exactly as the command tree calls it, output into a buffer."""

            def run() -> None:
                with contextlib.redirect_stdout(io.StringIO()):
                    fn(*args, store=store, tempo=None, as_json=False, **kwargs)

            return run

        logs = cli(logs_command, workspace=None, bot=None, limit=10)
        explain = cli(explain_command, None, workspace=None, bot=None, mode="detailed")
        how = cli(how_command, "rate limit", workspace=None, bot=None, limit=5, around=2)

        label = f"{options.spans // 1000}k-span store"
        for name, fn, target in (
            ("logs", logs, 200),
            ("explain (latest)", explain, 300),
            ("how 'rate limit'", how, 300),
        ):
            ms = median_ms(fn, options.runs)
            rows.append((f"{name}, in-process, {label}", f"{ms:,.1f} ms", f"< {target} ms", _ok(ms < target)))
        startup = cli_ms(["--version"], 5)
        for name, args, target in (
            ("logs", ["logs"], 200),
            ("explain (latest)", ["explain"], 300),
            ("how 'rate limit'", ["how", "rate limit"], 300),
        ):
            ms = cli_ms([*args, "--store", str(path)], 5)
            rows.append(
                (
                    f"otel-worklog {name}, subprocess",
                    f"{ms:,.0f} ms",
                    f"< {target} ms",
                    _ok(ms < target) + f" (minus start-up: {ms - startup:,.0f} ms)",
                )
            )
        rows.append(("  interpreter + imports (otel-worklog --version)", f"{startup:,.0f} ms", "", ""))
        size = sum(f.stat().st_size for f in Path(tmp).glob(f"{path.name}*"))
        rows.append(("store size on disk", f"{size / 1e6:,.1f} MB", "", f"{size / len(spans):,.0f} B/span"))

    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print(f"{'case':<{widths[0]}}  {'measured':>{widths[1]}}  {'target':<{widths[2]}}  result")
    for r in rows:
        print(f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}")


def _ok(flag: bool) -> str:
    return "ok" if flag else "MISSED"


if __name__ == "__main__":
    main()
