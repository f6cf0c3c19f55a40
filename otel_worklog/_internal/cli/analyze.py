"""``otel-worklog analyze | recommend | insights | report``: work analytics from the trace reader.

Every command reads spans only through ``open_reader(store=..., tempo=...)`` and prints plain
tables, or JSON with ``--json``. Trace text is untrusted: it is rendered as plain text, never as
markup, one line per cell, through the console that drops control characters (cli/terminal.py).
The command tree imports this module only when one of its commands runs.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli.common import fail, guard
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.analytics.analyses import NS_PER_DAY
from otel_worklog._internal.query.readers import open_reader
from otel_worklog._internal.render import report as report_render
from otel_worklog._internal.render.console import clean, make_console
from otel_worklog._internal.render.report import fmt_seconds, utc_time


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(item) for item in value)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    return value


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), indent=2, ensure_ascii=False) + "\n")


def _table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    table = Table(title=title, title_justify="left")
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*(Text(clean(cell)) for cell in row))
    return table


@dataclasses.dataclass
class _Source:
    store: str | None
    tempo: str | None

    def spans(self, *, days: float | None, workspace: str | None = None) -> Iterator[Any]:
        reader = open_reader(store=self.store, tempo=self.tempo)
        try:
            since = time.time_ns() - int(days * NS_PER_DAY) if days else None
            yield from reader.iter_spans(since_ns=since, workspace=workspace)
        finally:
            reader.close()

    def history(self, *, days: float | None, workspace: str | None = None) -> an.History:
        return an.build_history(self.spans(days=days, workspace=workspace))


def _print_workflows(console: Console, stats: an.WorkflowStats) -> None:
    rows: list[list[object]] = [
        ["workflows", stats.total_workflows],
        ["success rate", f"{stats.success_rate:.1%} ({stats.successful})"],
        ["avg duration", f"{fmt_seconds(stats.avg_duration_s)}"],
        ["avg bots per workflow", f"{stats.avg_bots_per_workflow:.2f}"],
        ["unhandled errors", stats.failures.get("unhandled_error", 0)],
        ["unresolved escalations", stats.failures.get("unresolved_escalation", 0)],
    ]
    if stats.estimates is not None:
        est = stats.estimates
        rows.append(
            [
                "estimate vs actual",
                f"{fmt_seconds(est.avg_estimated_s)} vs {fmt_seconds(est.avg_actual_s)} (x{est.avg_ratio:.2f}, "
                f"{est.over_estimate}/{est.workflows} over)",
            ]
        )
    console.print(_table("Workflows", ["", "value"], rows))
    console.print(_table("Most common bot sequences", ["sequence", "workflows"], stats.most_common_patterns))


def _print_overhead(console: Console, stats: an.OverheadStats) -> None:
    console.print(
        _table(
            "Coordination overhead",
            ["", "value"],
            [
                ["overhead", f"{stats.coordination_overhead_pct:.1f}% (threshold {stats.threshold_pct:g}%)"],
                ["coordination time", f"{fmt_seconds(stats.coordination_s)}"],
                ["tool time", f"{fmt_seconds(stats.tool_s)}"],
                ["avg coordination per workflow", f"{stats.avg_coordination_minutes:.2f} min"],
                ["recommendation", stats.recommendation],
            ],
        )
    )


def _print_trends(console: Console, trends: list[an.BotTrend]) -> None:
    console.print(
        _table(
            "Bot performance trends (recent against earlier)",
            ["bot", "trend", "recent success", "earlier success", "change", "duration change"],
            [
                [
                    t.bot,
                    t.trend,
                    f"{t.recent_success_rate:.1%} ({t.recent_sessions})",
                    f"{t.historical_success_rate:.1%} ({t.historical_sessions})",
                    f"{t.success_rate_change:+.1%}",
                    f"{t.duration_change_pct:+.1f}%",
                ]
                for t in trends
            ],
        )
    )


def _print_errors(console: Console, clusters: list[an.ErrorCluster]) -> None:
    console.print(
        _table(
            "Error clusters",
            ["fingerprint", "count", "workflows", "workspaces", "first seen", "last seen", "sample"],
            [
                [
                    c.fingerprint,
                    c.count,
                    c.workflows,
                    len(c.workspaces),
                    utc_time(c.first_seen_ns),
                    utc_time(c.last_seen_ns),
                    c.sample_message[:80],
                ]
                for c in clusters
            ],
        )
    )


def _print_compare(console: Console, rows: list[an.BotRow]) -> None:
    console.print(
        _table(
            "Bot comparison",
            ["bot", "sessions", "success %", "first-shot %", "avg time", "avg tokens", "avg cost"],
            [
                [
                    r.bot,
                    r.sessions,
                    f"{r.success_pct:.1f}%",
                    f"{r.first_shot_pct:.1f}%",
                    fmt_seconds(r.avg_time_s),
                    f"{r.avg_tokens:.0f}",
                    f"{r.avg_cost:.4f}",
                ]
                for r in rows
            ],
        )
    )


def analyze(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    as_json: bool = False,
) -> None:
    """Every analysis at once; or pick one: workflows, overhead, trends, errors, compare."""
    with guard(), an.paused_gc():
        history = _Source(store, tempo).history(days=days, workspace=workspace)
        workflows = an.analyze_workflows(history)
        overhead = an.coordination_overhead(history)
        trends = an.bot_trends(history, now_ns=time.time_ns())
        clusters = an.error_clusters(history)
        bots = an.compare_bots(history)
        if as_json:
            _print_json(
                {
                    "workflows": workflows,
                    "coordination_overhead": overhead,
                    "trends": trends,
                    "errors": clusters,
                    "bots": bots,
                }
            )
            return
        console = make_console()
        _print_workflows(console, workflows)
        _print_overhead(console, overhead)
        _print_trends(console, trends)
        _print_errors(console, clusters)
        _print_compare(console, bots)


def analyze_workflows_cmd(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    top: int = 5,
    as_json: bool = False,
) -> None:
    """Count, success rate, average duration, bots per workflow, common bot sequences, estimates."""
    with guard(), an.paused_gc():
        stats = an.analyze_workflows(_Source(store, tempo).history(days=days, workspace=workspace), top=top)
        _print_json(stats) if as_json else _print_workflows(make_console(), stats)


def analyze_overhead_cmd(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    threshold: float | None = None,
    as_json: bool = False,
) -> None:
    """Share of time in coordination (handoffs, escalations, messages) against tool execution."""
    with guard(), an.paused_gc():
        history = _Source(store, tempo).history(days=days, workspace=workspace)
        stats = an.coordination_overhead(history, threshold_pct=threshold)
        _print_json(stats) if as_json else _print_overhead(make_console(), stats)


def analyze_trends_cmd(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    bot: str | None = None,
    recent_days: float = 7.0,
    as_json: bool = False,
) -> None:
    """Recent against earlier success rate and duration per bot: improving, stable or declining."""
    with guard(), an.paused_gc():
        trends = an.bot_trends(
            _Source(store, tempo).history(days=days, workspace=workspace),
            now_ns=time.time_ns(),
            recent_days=recent_days,
        )
        trends = [t for t in trends if bot is None or t.bot == bot.lstrip("@")]
        _print_json(trends) if as_json else _print_trends(make_console(), trends)


def analyze_errors_cmd(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    top: int = 10,
    as_json: bool = False,
) -> None:
    """Top error fingerprints with counts, affected workspaces, first and last seen, a sample."""
    with guard(), an.paused_gc():
        clusters = an.error_clusters(_Source(store, tempo).history(days=days, workspace=workspace), top=top)
        _print_json(clusters) if as_json else _print_errors(make_console(), clusters)


def analyze_compare_cmd(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    bots: list[str] | None = None,
    as_json: bool = False,
) -> None:
    """Sessions, success %, first-shot %, average time, tokens and cost per bot."""
    with guard(), an.paused_gc():
        names = [name.lstrip("@") for name in bots or ()]
        rows = an.compare_bots(_Source(store, tempo).history(days=days, workspace=workspace), names)
        _print_json(rows) if as_json else _print_compare(make_console(), rows)


# --- recommend, insights, report -------------------------------------------------------------------
def recommend_cmd(
    task: str,
    domain: str | None = None,
    show_all: bool = False,
    min_confidence: float = 0.3,
    store: str | None = None,
    tempo: str | None = None,
    days: float = 90.0,
    as_json: bool = False,
) -> None:
    """Which bot is best for a task, from past work (seed 003's query_best_agent)."""
    with guard(), an.paused_gc():
        history = _Source(store, tempo).history(days=days)
        found = an.recommend(history, task, domain=domain, min_confidence=min_confidence, include_all=show_all)
        shown = found if show_all else found[:1]
        if as_json:
            _print_json(shown)
            return
        console = make_console()
        if not shown:
            console.print(Text(f"No bot reaches confidence {min_confidence:g} for: {clean(task)} (try --all)"))
            return
        if not show_all:
            best = shown[0]
            console.print(Text(f"Recommended: {clean(best.bot)} ({best.confidence:.0%} confidence)"))
        console.print(
            _table(
                "Candidates",
                ["bot", "confidence", "relevance", "success", "tasks", "matching", "avg time", "recent"],
                [
                    [
                        r.bot,
                        f"{r.confidence:.0%}",
                        f"{r.relevance:.0%}",
                        f"{r.success_rate:.0%}",
                        r.total_tasks,
                        r.matching_tasks,
                        fmt_seconds(r.avg_duration_s),
                        r.recent_performance,
                    ]
                    for r in shown
                ],
            )
        )


def insights_cmd(
    workspace: str | None = None,
    bot: str | None = None,
    category: str | None = None,
    store: str | None = None,
    tempo: str | None = None,
    days: float = 90.0,
    as_json: bool = False,
) -> None:
    """Shareable insights (the Learning Exchange): confidence >= 0.85, with their scope."""
    if category is not None and category not in sc.INSIGHT_CATEGORIES:
        raise fail(f"unknown category {category!r}; use one of {', '.join(sc.INSIGHT_CATEGORIES)}")
    with guard(), an.paused_gc():
        spans = _Source(store, tempo).spans(days=days)
        found = an.list_insights(spans, workspace=workspace, bot=bot.lstrip("@") if bot else None, category=category)
        if as_json:
            _print_json(found)
            return
        make_console().print(
            _table(
                "Shared insights",
                ["insight", "category", "confidence", "scope", "applies to", "from", "workspace"],
                [
                    [
                        i.text[:100],
                        i.category,
                        f"{i.confidence:.2f}",
                        i.scope,
                        "all bots" if i.recipients is None else ", ".join(sorted(i.recipients)) or "-",
                        i.source_bot or "-",
                        i.workspace_id or "-",
                    ]
                    for i in found
                ],
            )
        )


def report_cmd(
    days: float = 7.0,
    fmt: str = "markdown",
    output: Path | None = None,
    store: str | None = None,
    tempo: str | None = None,
) -> None:
    """The weekly report: workflows, overhead, trends, errors and bots, as Markdown or HTML with charts."""
    if fmt not in ("markdown", "md", "html"):
        raise fail(f"unknown format {fmt!r}; use markdown or html")
    with guard(), an.paused_gc():
        # Trends compare the window with what came before it, so read four windows back.
        history = _Source(store, tempo).history(days=days * 5)
        report = an.build_report(history, days=days, now_ns=time.time_ns())
        text = report_render.to_html(report) if fmt == "html" else report_render.to_markdown(report)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            sys.stderr.write(f"wrote {output}\n")
