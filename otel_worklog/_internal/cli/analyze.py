"""``otel-worklog analyze``: work analytics, every analysis at once or one of them.

The options of ``analyze`` (``--store``, ``--tempo``, ``--days``, ``-w``, ``--json``) may be
given before the analysis or after it; given after, they win.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from rich.console import Console

from otel_worklog._internal.cli.analysis import add_days, read_history, table
from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import (
    Command,
    add_filters,
    add_json,
    add_source,
    add_subcommands,
    at_least,
    inherited,
)
from otel_worklog._internal.cli.reading import bot_name
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.report import fmt_seconds, utc_time

__all__ = ["ANALYSES", "COMMAND", "analyze", "compare", "errors", "overhead", "trends", "workflows"]


def _window(parser: argparse.ArgumentParser, *, keep_parent: bool) -> None:
    """Options of ``analyze`` that each analysis repeats."""
    add_source(parser, keep_parent=keep_parent)
    add_days(parser, inherited(30.0, keep_parent))
    add_filters(parser, bot=False, keep_parent=keep_parent)
    add_json(parser, keep_parent=keep_parent)


def _analysis(more: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser], None]:
    """The options of one analysis: the window's, then ``more``."""

    def options(parser: argparse.ArgumentParser) -> None:
        _window(parser, keep_parent=True)
        more(parser)

    return options


# --- workflows ---------------------------------------------------------------------------------------
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
    console.print(table("Workflows", ["", "value"], rows))
    console.print(table("Most common bot sequences", ["sequence", "workflows"], stats.most_common_patterns))


def _workflows_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", type=at_least(1, int), default=5, help="How many bot sequences.")


def workflows(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    top: int = 5,
    as_json: bool = False,
) -> None:
    """Count, success rate, average duration, bots per workflow, common bot sequences, estimates."""
    with an.paused_gc():
        stats = an.analyze_workflows(read_history(store, tempo, days=days, workspace=workspace), top=top)
    emit_json(stats) if as_json else _print_workflows(make_console(), stats)


# --- overhead ----------------------------------------------------------------------------------------
def _print_overhead(console: Console, stats: an.OverheadStats) -> None:
    console.print(
        table(
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


def _overhead_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threshold", type=at_least(0.0), metavar="PERCENT", help="Overhead worth a recommendation (default 30)."
    )


def overhead(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    threshold: float | None = None,
    as_json: bool = False,
) -> None:
    """Share of time in coordination (handoffs, escalations, messages) against tool execution."""
    with an.paused_gc():
        history = read_history(store, tempo, days=days, workspace=workspace)
        stats = an.coordination_overhead(history, threshold_pct=threshold)
    emit_json(stats) if as_json else _print_overhead(make_console(), stats)


# --- trends ------------------------------------------------------------------------------------------
def _print_trends(console: Console, found: list[an.BotTrend]) -> None:
    console.print(
        table(
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
                for t in found
            ],
        )
    )


def _trends_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bot", help="Only this bot.")
    parser.add_argument(
        "--recent-days", type=at_least(0.01), default=7.0, metavar="DAYS", help="What counts as recent."
    )


def trends(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    bot: str | None = None,
    recent_days: float = 7.0,
    as_json: bool = False,
) -> None:
    """Recent against earlier success rate and duration per bot: improving, stable or declining."""
    with an.paused_gc():
        history = read_history(store, tempo, days=days, workspace=workspace)
        found = an.bot_trends(history, now_ns=time.time_ns(), recent_days=recent_days)
    found = [t for t in found if bot is None or t.bot == bot_name(bot)]
    emit_json(found) if as_json else _print_trends(make_console(), found)


# --- errors ------------------------------------------------------------------------------------------
def _print_errors(console: Console, clusters: list[an.ErrorCluster]) -> None:
    console.print(
        table(
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


def _errors_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", type=at_least(1, int), default=10, help="How many error fingerprints.")


def errors(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    top: int = 10,
    as_json: bool = False,
) -> None:
    """Top error fingerprints with counts, affected workspaces, first and last seen, a sample."""
    with an.paused_gc():
        clusters = an.error_clusters(read_history(store, tempo, days=days, workspace=workspace), top=top)
    emit_json(clusters) if as_json else _print_errors(make_console(), clusters)


# --- compare -----------------------------------------------------------------------------------------
def _print_compare(console: Console, rows: list[an.BotRow]) -> None:
    console.print(
        table(
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


def _compare_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bots", nargs="*", metavar="BOT", help="Bots to compare (default: all).")


def compare(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    bots: list[str] | None = None,
    as_json: bool = False,
) -> None:
    """Sessions, success %, first-shot %, average time, tokens and cost per bot."""
    names = [name.lstrip("@") for name in bots or ()]
    with an.paused_gc():
        rows = an.compare_bots(read_history(store, tempo, days=days, workspace=workspace), names)
    emit_json(rows) if as_json else _print_compare(make_console(), rows)


# --- all at once -------------------------------------------------------------------------------------
def analyze(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    as_json: bool = False,
) -> None:
    """Every analysis at once; or pick one: workflows, overhead, trends, errors, compare."""
    with an.paused_gc():
        history = read_history(store, tempo, days=days, workspace=workspace)
        stats = an.analyze_workflows(history)
        coordination = an.coordination_overhead(history)
        bot_trends = an.bot_trends(history, now_ns=time.time_ns())
        clusters = an.error_clusters(history)
        bots = an.compare_bots(history)
    if as_json:
        emit_json(
            {
                "workflows": stats,
                "coordination_overhead": coordination,
                "trends": bot_trends,
                "errors": clusters,
                "bots": bots,
            }
        )
        return
    console = make_console()
    _print_workflows(console, stats)
    _print_overhead(console, coordination)
    _print_trends(console, bot_trends)
    _print_errors(console, clusters)
    _print_compare(console, bots)


ANALYSES = {
    "workflows": Command(
        "Count, success rate, duration, bots per workflow, bot sequences.", workflows, _analysis(_workflows_options)
    ),
    "overhead": Command(
        "Share of time in coordination against tool execution.", overhead, _analysis(_overhead_options)
    ),
    "trends": Command("Recent against earlier success and duration per bot.", trends, _analysis(_trends_options)),
    "errors": Command(
        "Top error fingerprints with counts, workspaces, first and last seen.", errors, _analysis(_errors_options)
    ),
    "compare": Command(
        "Sessions, success %, first-shot %, time, tokens and cost per bot.", compare, _analysis(_compare_options)
    ),
}


def _options(parser: argparse.ArgumentParser) -> None:
    _window(parser, keep_parent=False)
    add_subcommands(parser, "analyses", "ANALYSIS", ANALYSES)


COMMAND = Command(
    "Work analytics: workflows, coordination overhead, bot trends, error clusters, bot comparison.", analyze, _options
)
