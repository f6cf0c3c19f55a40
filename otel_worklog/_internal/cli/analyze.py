"""``otel-worklog analyze | recommend | insights | report``: work analytics from the trace reader.

Every command reads spans only through ``open_reader(store=..., tempo=...)`` and prints plain
tables, or JSON with ``--json``. Trace text is untrusted: control characters are dropped before it
reaches the terminal, and it is rendered as plain text, never as markup.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.lazy import LazyModule

if TYPE_CHECKING:
    from otel_worklog._internal import analytics as an
    from otel_worklog._internal import readers
else:  # imported on first use: `otel-worklog logs` need not load the analytics
    an = LazyModule("otel_worklog._internal.analytics")
    readers = LazyModule("otel_worklog._internal.readers")


def fmt_seconds(seconds: float) -> str:
    from otel_worklog._internal.analytics.report import fmt_seconds as fmt

    return fmt(seconds)


def open_reader(*, store: str | None = None, tempo: str | None = None) -> Any:
    return readers.open_reader(store=store, tempo=tempo)


NS_PER_DAY: Final = 86_400 * 1_000_000_000
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

StoreOpt = Annotated[str | None, typer.Option("--store", help="Path of the local store (default: configure()'s).")]
TempoOpt = Annotated[str | None, typer.Option("--tempo", help="Read from Grafana Tempo at this URL instead.")]
DaysOpt = Annotated[float, typer.Option("--days", min=0.01, help="Look at the last N days.")]
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Only this workspace.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def clean(value: object) -> str:
    """Trace text made safe for a terminal: no control or bidi characters, one line."""
    return _CONTROL.sub("", str(value).replace("\n", " ").replace("\t", " "))


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


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


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


def _app() -> Any:
    """The app module, imported late: app.py imports this module while it is being built."""
    from otel_worklog._internal.cli import app

    return app


def _guard() -> Any:
    return _app().guard()


# --- analyze -------------------------------------------------------------------------------------
analyze_app = typer.Typer(
    help="Work analytics: workflows, coordination overhead, bot trends, error clusters, bot comparison.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)


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
                    _when(c.first_seen_ns),
                    _when(c.last_seen_ns),
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


def _when(time_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(time_ns / 1e9))


@analyze_app.callback()
def analyze(
    ctx: typer.Context,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
    days: DaysOpt = 30.0,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Every analysis at once; or pick one: workflows, overhead, trends, errors, compare."""
    ctx.obj = {"source": _Source(store, tempo), "days": days, "workspace": workspace, "json": as_json}
    if ctx.invoked_subcommand is not None:
        return
    with _guard(), an.paused_gc():
        history = ctx.obj["source"].history(days=days, workspace=workspace)
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
        console = _console()
        _print_workflows(console, workflows)
        _print_overhead(console, overhead)
        _print_trends(console, trends)
        _print_errors(console, clusters)
        _print_compare(console, bots)


SubDaysOpt = Annotated[float | None, typer.Option("--days", min=0.01, help="Look at the last N days (default 30).")]


def _options(
    ctx: typer.Context,
    as_json: bool,
    store: str | None,
    tempo: str | None,
    days: float | None,
    workspace: str | None,
) -> tuple[_Source, float, str | None, bool]:
    """Options given after the subcommand win over the same options given before it."""
    obj = ctx.obj or {}
    parent: _Source = obj["source"]
    source = _Source(store or parent.store, tempo or parent.tempo)
    return source, days or obj["days"], workspace or obj["workspace"], as_json or obj["json"]


@analyze_app.command("workflows")
def analyze_workflows_cmd(
    ctx: typer.Context,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
    days: SubDaysOpt = None,
    workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option(min=1)] = 5,
    as_json: JsonOpt = False,
) -> None:
    """Count, success rate, average duration, bots per workflow, common bot sequences, estimates."""
    source, days, workspace, as_json = _options(ctx, as_json, store, tempo, days, workspace)
    with _guard(), an.paused_gc():
        stats = an.analyze_workflows(source.history(days=days, workspace=workspace), top=top)
        _print_json(stats) if as_json else _print_workflows(_console(), stats)


@analyze_app.command("overhead")
def analyze_overhead_cmd(
    ctx: typer.Context,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
    days: SubDaysOpt = None,
    workspace: WorkspaceOpt = None,
    threshold: Annotated[float | None, typer.Option(help="Percent (default 30).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Share of time in coordination (handoffs, escalations, messages) against tool execution."""
    source, days, workspace, as_json = _options(ctx, as_json, store, tempo, days, workspace)
    with _guard(), an.paused_gc():
        stats = an.coordination_overhead(source.history(days=days, workspace=workspace), threshold_pct=threshold)
        _print_json(stats) if as_json else _print_overhead(_console(), stats)


@analyze_app.command("trends")
def analyze_trends_cmd(
    ctx: typer.Context,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
    days: SubDaysOpt = None,
    workspace: WorkspaceOpt = None,
    bot: Annotated[str | None, typer.Option(help="Only this bot.")] = None,
    recent_days: Annotated[float, typer.Option(min=0.01, help="What counts as recent.")] = 7.0,
    as_json: JsonOpt = False,
) -> None:
    """Recent against earlier success rate and duration per bot: improving, stable or declining."""
    source, days, workspace, as_json = _options(ctx, as_json, store, tempo, days, workspace)
    with _guard(), an.paused_gc():
        trends = an.bot_trends(
            source.history(days=days, workspace=workspace), now_ns=time.time_ns(), recent_days=recent_days
        )
        trends = [t for t in trends if bot is None or t.bot == bot]
        _print_json(trends) if as_json else _print_trends(_console(), trends)


@analyze_app.command("errors")
def analyze_errors_cmd(
    ctx: typer.Context,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
    days: SubDaysOpt = None,
    workspace: WorkspaceOpt = None,
    top: Annotated[int, typer.Option(min=1)] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Top error fingerprints with counts, affected workspaces, first and last seen, a sample."""
    source, days, workspace, as_json = _options(ctx, as_json, store, tempo, days, workspace)
    with _guard(), an.paused_gc():
        clusters = an.error_clusters(source.history(days=days, workspace=workspace), top=top)
        _print_json(clusters) if as_json else _print_errors(_console(), clusters)


@analyze_app.command("compare")
def analyze_compare_cmd(
    ctx: typer.Context,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
    days: SubDaysOpt = None,
    workspace: WorkspaceOpt = None,
    bots: Annotated[list[str] | None, typer.Argument(help="Bots to compare (default: all).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Sessions, success %, first-shot %, average time, tokens and cost per bot."""
    source, days, workspace, as_json = _options(ctx, as_json, store, tempo, days, workspace)
    with _guard(), an.paused_gc():
        rows = an.compare_bots(source.history(days=days, workspace=workspace), bots or ())
        _print_json(rows) if as_json else _print_compare(_console(), rows)


# --- recommend, insights, report -------------------------------------------------------------------
def recommend_cmd(
    task: Annotated[str, typer.Argument(help='What needs doing, e.g. "API development".')],
    domain: Annotated[str | None, typer.Option(help="Only bots whose history mentions this domain.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="List every candidate.")] = False,
    min_confidence: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.3,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
    days: DaysOpt = 90.0,
    as_json: JsonOpt = False,
) -> None:
    """Which bot is best for a task, from past work (seed 003's query_best_agent)."""
    with _guard(), an.paused_gc():
        history = _Source(store, tempo).history(days=days)
        found = an.recommend(history, task, domain=domain, min_confidence=min_confidence, include_all=show_all)
        shown = found if show_all else found[:1]
        if as_json:
            _print_json(shown)
            return
        console = _console()
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
    workspace: WorkspaceOpt = None,
    bot: Annotated[str | None, typer.Option(help="Only insights whose scope applies to this bot.")] = None,
    category: Annotated[str | None, typer.Option(help=f"One of: {', '.join(sc.INSIGHT_CATEGORIES)}.")] = None,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
    days: DaysOpt = 90.0,
    as_json: JsonOpt = False,
) -> None:
    """Shareable insights (the Learning Exchange): confidence >= 0.85, with their scope."""
    if category is not None and category not in sc.INSIGHT_CATEGORIES:
        raise _app().fail(f"unknown category {category!r}; use one of {', '.join(sc.INSIGHT_CATEGORIES)}")
    with _guard(), an.paused_gc():
        spans = _Source(store, tempo).spans(days=days)
        found = an.list_insights(spans, workspace=workspace, bot=bot, category=category)
        if as_json:
            _print_json(found)
            return
        _console().print(
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
    days: Annotated[float, typer.Option("--days", min=0.01, help="Cover the last N days.")] = 7.0,
    fmt: Annotated[str, typer.Option("--format", help="markdown or html.")] = "markdown",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    store: StoreOpt = None,
    tempo: TempoOpt = None,
) -> None:
    """The weekly report: workflows, overhead, trends, errors and bots, as Markdown or HTML with charts."""
    if fmt not in ("markdown", "md", "html"):
        raise _app().fail(f"unknown format {fmt!r}; use markdown or html")
    with _guard(), an.paused_gc():
        # Trends compare the window with what came before it, so read four windows back.
        history = _Source(store, tempo).history(days=days * 5)
        report = an.build_report(history, days=days, now_ns=time.time_ns())
        text = an.to_html(report) if fmt == "html" else an.to_markdown(report)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8")
            sys.stderr.write(f"wrote {output}\n")


def register(app: Any) -> None:
    """Add ``analyze``, ``recommend``, ``insights`` and ``report`` to the ``otel-worklog`` app."""
    app.add_typer(analyze_app, name="analyze")
    app.command("recommend")(recommend_cmd)
    app.command("insights")(insights_cmd)
    app.command("report")(report_cmd)
