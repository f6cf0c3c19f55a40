"""Detector and analytics speed, measured in one run (plain script: python benchmarks/bench_detectors.py).

1. What ``configure(detectors=True)`` adds per span against the same ``configure()`` without the
   detector (target: <= 2 us added), both chains on one provider, interleaved round by round. Each
   round ends with a flush, so the detector's work on a batch it has not finished yet is in the
   round. Two chains: as configure() runs by default (spans exported through the bounded batch
   processor; an exporter that discards stands in for the store or OTLP), and with no exporter at all.
2. The examination itself: the detector's pass over a batch of real finished spans, and the insight
   processor's on_end, in a tight loop (the work, without the SDK around it).
3. ``analyze`` over 200,000 spans: every analysis over SpanRecords built in memory, then end to end
   through the real SQLite store (write with configure(store=...), read with the store reader), in
   this process and in a fresh one (as ``otel-worklog analyze`` runs). Target: < 2 s.
"""

from __future__ import annotations

import gc
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.util.types import AttributeValue

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline.configure import _PROCESSORS
from otel_worklog._internal.pipeline.detectors import DetectorProcessor, resolve_config
from otel_worklog._internal.pipeline.insights import create_insight_processor
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.readers import open_reader
from otel_worklog._internal.query.records import EventRecord, SpanRecord
from otel_worklog._internal.render import report as report_render

SPANS_PER_ROUND = 2_000
ROUNDS = 60
ANALYZE_SPANS = 200_000
FRESH_RUNS = 5


class Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def _round(provider: TracerProvider, with_event: bool) -> float:
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    bot_attrs = {
        sc.WORKSPACE_ID: "#bench",
        sc.BOT_NAME: "coder",
        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
        sc.GEN_AI_AGENT_NAME: "coder",
    }
    tools = [f"tool{i}" for i in range(50)]
    event_attrs: dict[str, AttributeValue] = {
        sc.WORKLOG_LEVEL: "decision",
        sc.WORKLOG_MESSAGE: "ok",
        sc.WORKLOG_STEP: 1,
        sc.WORKLOG_CONFIDENCE: 0.9,
    }
    decision = sc.event_name("decision")
    gc.collect()
    with tracer.start_as_current_span("invoke_agent coder", attributes=bot_attrs):
        start = time.perf_counter_ns()
        for i in range(SPANS_PER_ROUND):
            tool = tools[i % 50]
            attrs = {
                sc.WORKSPACE_ID: "#bench",
                sc.BOT_NAME: "coder",
                sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
                sc.GEN_AI_TOOL_NAME: tool,
                sc.WORKLOG_TOOL_STATUS: "success",
            }
            with tracer.start_as_current_span("execute_tool " + tool, attributes=attrs) as span:
                if with_event:
                    span.add_event(decision, event_attrs)
        elapsed = time.perf_counter_ns() - start
    return elapsed / SPANS_PER_ROUND


def _timed_round(provider: TracerProvider, with_event: bool) -> float:
    """ns per span for a round, including the flush that examines what the detector still holds."""
    start = time.perf_counter_ns()
    _round(provider, with_event)
    provider.force_flush()
    return (time.perf_counter_ns() - start) / SPANS_PER_ROUND


def bench_configured(with_exporter: bool) -> list[tuple[str, float, float, float, float]]:
    """configure(detectors=True) against the chain configure() builds without the detector.

    Both chains hang off the one provider configure() made; each round installs one of them, in turn,
    so the two are measured in the same run, on the same spans.
    """
    exporters = [Discard()] if with_exporter else []
    provider = wl.configure(store=False, exporters=exporters, detectors=True)
    assert isinstance(provider, TracerProvider)
    worklog = _PROCESSORS[provider]
    with_detector = worklog.children
    chains = {
        "no detector": tuple(child for child in with_detector if not isinstance(child, DetectorProcessor)),
        "detectors": with_detector,
    }
    assert len(chains["no detector"]) == len(with_detector) - 1
    rows = []
    try:
        for with_event in (False, True):
            samples: dict[str, list[float]] = {name: [] for name in chains}
            for chain in chains.values():  # warm up
                worklog.replace_children(chain)
                _timed_round(provider, with_event)
            for _ in range(ROUNDS):
                for name, chain in chains.items():  # interleaved, so drift hits both alike
                    worklog.replace_children(chain)
                    samples[name].append(_timed_round(provider, with_event))
            base = statistics.median(samples["no detector"])
            value = statistics.median(samples["detectors"])
            # Added cost: the median of the differences between rounds run back to back, which cancels
            # most of the drift of a shared machine.
            added = statistics.median(x - y for x, y in zip(samples["detectors"], samples["no detector"], strict=True))
            label = "tool span + decision event" if with_event else "tool span"
            rows.append((label, base, value, added, value / base))
    finally:
        worklog.replace_children(with_detector)
        wl.shutdown()
    return rows


class Nop(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        pass


def _each(on_end: Callable[[ReadableSpan], None]) -> Callable[[Sequence[ReadableSpan]], None]:
    def run(spans: Sequence[ReadableSpan]) -> None:
        for span in spans:
            on_end(span)

    return run


def bench_calls() -> list[tuple[str, float, float]]:
    """ns per span for the detector's pass over a batch of real finished spans, and for the insight
    processor's on_end, each against a processor that does nothing, in a tight loop."""
    provider = TracerProvider()
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    bot_attrs = {sc.WORKSPACE_ID: "#bench", sc.BOT_NAME: "coder", sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT}
    event_attrs: dict[str, AttributeValue] = {
        sc.WORKLOG_LEVEL: "decision",
        sc.WORKLOG_MESSAGE: "ok",
        sc.WORKLOG_CONFIDENCE: 0.9,
    }
    rows = []
    for with_event in (False, True):
        spans: list[Span] = []
        with tracer.start_as_current_span("invoke_agent coder", attributes=bot_attrs) as bot:
            for i in range(SPANS_PER_ROUND):
                attrs = {
                    sc.WORKSPACE_ID: "#bench",
                    sc.BOT_NAME: "coder",
                    sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
                    sc.GEN_AI_TOOL_NAME: f"tool{i % 50}",
                    sc.WORKLOG_TOOL_STATUS: "success",
                }
                with tracer.start_as_current_span(f"execute_tool tool{i % 50}", attributes=attrs) as span:
                    if with_event:
                        span.add_event(sc.event_name("decision"), event_attrs)
                spans.append(span)  # type: ignore[arg-type]
        config = resolve_config(True)
        assert config is not None
        clock = itertools.count(start=0, step=10).__next__  # no loop fires: the steady-state cost
        detector = DetectorProcessor(config, provider, clock=clock, watchdog=False)
        detector.on_start(bot)  # type: ignore[arg-type]
        insights = create_insight_processor(None)
        assert insights is not None
        passes: dict[str, Callable[[Sequence[ReadableSpan]], None]] = {
            "nothing": _each(Nop().on_end),
            "detectors (one pass over the batch)": detector.examine_ended,
            "insights (on_end)": _each(insights.on_end),
        }
        samples: dict[str, list[float]] = {name: [] for name in passes}
        for _ in range(ROUNDS):
            for name, run in passes.items():
                gc.collect()
                start = time.perf_counter_ns()
                run(spans)
                samples[name].append((time.perf_counter_ns() - start) / len(spans))
        base = min(samples["nothing"])
        label = "tool span + decision event" if with_event else "tool span"
        for name in list(passes)[1:]:
            rows.append((f"{label}: {name}", min(samples[name]) - base, statistics.median(samples[name]) - base))
        detector.shutdown()
        insights.shutdown()
    return rows


# --- analyze over 200,000 spans ------------------------------------------------------------------
def synthetic_spans(total: int) -> list[SpanRecord]:
    """Workflows of 10 spans (workspace, 3 bots, 4 tools, 2 handoffs), with entries and some errors."""
    spans: list[SpanRecord] = []
    t0 = time.time_ns() - 20 * 86_400 * 10**9
    bots = ("nanobot", "researcher", "coder")
    for w in itertools.count():
        if len(spans) >= total:
            break
        trace = f"{w:032x}"
        base = t0 + w * 60 * 10**9
        ws = f"#project-{w % 17}"

        def sid(n: int, w: int = w) -> str:
            return f"{w:012x}{n:04x}"

        def s(
            n: int,
            parent: int | None,
            name: str,
            a: float,
            b: float,
            attrs: dict[str, object],
            error: bool = False,
            events: tuple[EventRecord, ...] = (),
            base: int = base,
            trace: str = trace,
            ws: str = ws,
        ) -> SpanRecord:
            return SpanRecord(
                trace,
                sid(n),
                sid(parent) if parent is not None else None,
                name,
                "INTERNAL",
                base + int(a * 1e9),
                base + int(b * 1e9),
                "ERROR" if error else "UNSET",
                attributes={sc.WORKSPACE_ID: ws, **attrs},
                events=events,
            )

        fail = w % 13 == 0
        spans.append(
            s(
                0,
                None,
                f"workspace {ws}",
                0,
                50,
                {sc.WORKSPACE_TYPE: "project", sc.WORKLOG_QUERY: f"Build API feature {w % 40}"},
            )
        )
        parent = 0
        n = 1
        for k, bot in enumerate(bots):
            bot_id = n
            msg = EventRecord(
                sc.event_name("info"),
                base + int((k * 15 + 9) * 1e9),
                {
                    sc.WORKLOG_LEVEL: "info",
                    sc.WORKLOG_CATEGORY: sc.CATEGORY_BOT_CONVERSATION,
                    sc.WORKLOG_MESSAGE: "update",
                },
            )
            spans.append(
                s(
                    n,
                    parent,
                    f"invoke_agent {bot}",
                    k * 15,
                    k * 15 + 14,
                    {
                        sc.BOT_NAME: bot,
                        sc.BOT_ROLE: "backend developer" if bot == "coder" else bot,
                        sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
                    },
                    events=(msg,),
                )
            )
            n += 1
            if bot != "nanobot":
                exc = (
                    EventRecord(
                        "exception",
                        base + int((k * 15 + 8) * 1e9),
                        {"exception.type": "TimeoutError", "exception.message": f"timeout after {w}s"},
                    ),
                )
                spans.append(
                    s(
                        n,
                        bot_id,
                        "execute_tool search",
                        k * 15 + 1,
                        k * 15 + 8,
                        {
                            sc.BOT_NAME: bot,
                            sc.GEN_AI_TOOL_NAME: "search",
                            sc.GEN_AI_USAGE_INPUT_TOKENS: 900,
                            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
                            sc.WORKLOG_COST: 0.01,
                        },
                        error=fail,
                        events=exc if fail else (),
                    )
                )
                n += 1
                spans.append(
                    s(
                        n,
                        bot_id,
                        "execute_tool write_file",
                        k * 15 + 10,
                        k * 15 + 12,
                        {sc.BOT_NAME: bot, sc.GEN_AI_TOOL_NAME: "write_file"},
                    )
                )
                n += 1
            if k < 2:
                spans.append(
                    s(
                        n,
                        bot_id,
                        f"handoff {bot} -> {bots[k + 1]}",
                        k * 15 + 13,
                        k * 15 + 14,
                        {sc.BOT_NAME: bot, sc.WORKLOG_HANDOFF_FROM: bot, sc.WORKLOG_HANDOFF_TO: bots[k + 1]},
                    )
                )
                parent = n
                n += 1
    return spans[:total]


def analyze_all(spans: object) -> an.History:
    """What ``otel-worklog analyze`` computes: the history and every analysis it prints (GC paused, as there)."""
    with an.paused_gc():
        history = an.build_history(spans)  # type: ignore[arg-type]
        an.analyze_workflows(history)
        an.coordination_overhead(history)
        an.bot_trends(history)
        an.error_clusters(history)
        an.compare_bots(history)
    return history


def _paused(fn: Callable[[], object]) -> object:
    with an.paused_gc():
        return fn()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def bench_analyze() -> list[tuple[str, float]]:
    # The in-memory spans are gone before the store part: its fresh processes should not run beside a
    # heap this size (see bench_store).
    rows = bench_in_memory()
    try:
        store_rows = bench_store(ANALYZE_SPANS)
    except Exception as exc:  # report, do not hide the rest
        store_rows = [(f"through the store: not measured ({type(exc).__name__}: {exc})", float("nan"))]
    return rows + store_rows


def bench_in_memory() -> list[tuple[str, float]]:
    spans = synthetic_spans(ANALYZE_SPANS)
    rows = []
    seconds, history = timed(lambda: analyze_all(spans))
    assert isinstance(history, an.History) and history.span_count == ANALYZE_SPANS
    rows.append((f"analyze, {ANALYZE_SPANS:,} SpanRecords in memory ({len(history.workflows):,} workflows)", seconds))
    seconds, _ = timed(lambda: _paused(lambda: an.recommend(an.build_history(spans), "API development")))
    rows.append(("recommend (history + ranking), same spans", seconds))
    seconds, _ = timed(lambda: _paused(lambda: report_render.to_html(an.build_report(an.build_history(spans), days=7))))
    rows.append(("report --format html (history + report), same spans", seconds))
    return rows


def bench_store(total: int) -> list[tuple[str, float]]:
    directory = tempfile.mkdtemp(prefix="bench-analyze-")
    path = os.path.join(directory, "worklog.db")
    os.environ["OTEL_WORKLOG_MAX_QUEUE_SIZE"] = str(total + 1)  # a burst this size must not drop a span
    wl.configure(store=path, exporters=[])
    per_workflow = 10  # workspace, 3 bots, 4 tools, 2 handoffs

    @wl.tool(name="search")
    def search() -> None:
        pass

    @wl.tool(name="write_file")
    def write_file() -> None:
        pass

    start = time.perf_counter()
    for w in range(total // per_workflow):
        with wl.workspace(f"#project-{w % 17}", type="project", query=f"Build API feature {w % 40}"):
            handoff = None
            for k, bot in enumerate(("nanobot", "researcher", "coder")):
                with wl.bot(bot, role="backend developer" if bot == "coder" else bot, handoff=handoff):
                    wl.message("update")
                    if bot != "nanobot":
                        search()
                        write_file()
                    if k < 2:
                        handoff = wl.handoff(("researcher", "coder")[k])
    wl.force_flush(60)
    wl.shutdown()
    write_s = time.perf_counter() - start
    # The fresh processes run first, while this one holds no big heap: on this VM a process that holds
    # 2 GB slows another's first touch of new memory (fresh runs took 1.7 to 2.5 s beside it, 1.8 without).
    fresh = [analyze_in_fresh_process(path) for _ in range(FRESH_RUNS)]
    reader = open_reader(store=path)
    try:
        read_s, records = timed(lambda: list(reader.iter_spans()))
        assert isinstance(records, list)
        both_s, _ = timed(lambda: analyze_all(reader.iter_spans()))
    finally:
        reader.close()
    analyze_s, _ = timed(lambda: analyze_all(records))
    return [
        (f"write {len(records):,} spans through the public API into the store (setup, not a target)", write_s),
        (f"store reader: iter_spans over {len(records):,} spans", read_s),
        (f"analyze the {len(records):,} spans read from the store (analysis only)", analyze_s),
        ("analyze end to end: store reader + analysis", both_s),
        (
            f"analyze end to end in a fresh process, as the CLI runs it (median of {FRESH_RUNS};"
            f" {min(fresh):.2f} to {max(fresh):.2f})",
            statistics.median(fresh),
        ),
    ]


def analyze_once(path: str) -> float:
    """Seconds for the store reader + every analysis, in this process (start-up and imports not counted)."""
    reader = open_reader(store=path)
    try:
        seconds, _ = timed(lambda: analyze_all(reader.iter_spans()))
    finally:
        reader.close()
    return seconds


def analyze_in_fresh_process(path: str) -> float:
    """:func:`analyze_once` in a new interpreter: no heap left over from the rest of this benchmark."""
    done = subprocess.run(
        [sys.executable, __file__, "--analyze-once", path], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def main() -> None:
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for with_exporter in (True, False):
        print()
        chain = "spans exported through the bounded batch processor" if with_exporter else "no exporter at all"
        print(
            f"configure(detectors=True) against configure() without the detector, {chain}:"
            f" median of {ROUNDS} interleaved rounds of {SPANS_PER_ROUND:,} spans, each ending with a flush."
        )
        print("| Case | no detector, ns per span | detectors, ns per span | added ns | ratio |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, base, value, added, ratio in bench_configured(with_exporter):
            print(f"| {name} | {base:,.0f} | {value:,.0f} | {added:+,.0f} | {ratio:.3f} |")
    print()
    print("The examination alone, in a tight loop over finished spans, minus a processor that does nothing.")
    print("| Pass | ns per span (best round) | ns per span (median round) |")
    print("| --- | ---: | ---: |")
    for name, best, median in bench_calls():
        print(f"| {name} | {best:,.0f} | {median:,.0f} |")
    print()
    print("| Analysis | seconds |")
    print("| --- | ---: |")
    for name, seconds in bench_analyze():
        print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--analyze-once"]:
        print(analyze_once(sys.argv[2]))
    else:
        main()
