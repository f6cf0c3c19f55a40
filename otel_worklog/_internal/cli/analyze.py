"""``otel-worklog analyze``: work analytics, every analysis at once or one of them.

The options of ``analyze`` (``--store``, ``--tempo``, ``--days``, ``-w``, ``--utc``, ``--json``) may
be given before the analysis or after it; given after, they win. A figure with nothing to go on is a
dash, and a line says why (no workflows in the window, no usage recorded), never a zero.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.text import Text

from otel_worklog._internal.cli.analysis import ALWAYS, Column, add_days, read_history, table, window
from otel_worklog._internal.cli.common import emit_json, fail
from otel_worklog._internal.cli.options import (
    Command,
    add_filters,
    add_json,
    add_source,
    add_subcommands,
    add_utc,
    at_least,
    inherited,
)
from otel_worklog._internal.cli.reading import bot_name
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.units import Clock, format_durations_alike, format_seconds, plural

__all__ = ["ANALYSES", "COMMAND", "analyze", "compare", "errors", "overhead", "trends", "workflows"]

#: What a figure with nothing to go on shows.
NO_DATA = "-"
_FACTS = (Column("measure", keep=ALWAYS, whole=True), Column("value", keep=ALWAYS, min_width=20, wrap=True))


def _window(parser: argparse.ArgumentParser, *, keep_parent: bool) -> None:
    """Options of ``analyze`` that each analysis repeats."""
    add_source(parser, keep_parent=keep_parent)
    add_days(parser, inherited(30.0, keep_parent))
    add_filters(parser, bot=False, keep_parent=keep_parent)
    add_utc(parser, keep_parent=keep_parent)
    add_json(parser, keep_parent=keep_parent)


def _analysis(more: Callable[[argparse.ArgumentParser], None]) -> Callable[[argparse.ArgumentParser], None]:
    """The options of one analysis: the window's, then ``more``."""

    def options(parser: argparse.ArgumentParser) -> None:
        _window(parser, keep_parent=True)
        more(parser)

    return options


def _why(console: Console, text: str) -> None:
    console.print(Text(text, style="dim"))


# --- workflows ---------------------------------------------------------------------------------------
def _estimate(est: an.EstimateStats) -> str:
    declared, actual = format_durations_alike([est.avg_estimated_s * 1e9, est.avg_actual_s * 1e9])
    return (
        f"{declared} estimated, {actual} taken on average ({100 * est.avg_ratio:.2g}% of the estimate;"
        f" {est.over_estimate} of {plural(est.workflows, 'workflow')} took longer)"
    )


def _print_workflows(console: Console, stats: an.WorkflowStats, where: str) -> None:
    if not stats.total_workflows:
        _why(console, f"Workflows: none {where}, so no success rate, duration or bot sequences to show.")
        return
    rows: list[list[object]] = [
        ["workflows", stats.total_workflows],
        ["success rate", f"{stats.success_rate:.1%} ({stats.successful} of {stats.total_workflows})"],
        ["avg duration", format_seconds(stats.avg_duration_s)],
        ["avg bots per workflow", f"{stats.avg_bots_per_workflow:.2f}"],
        ["unhandled errors", stats.failures.get("unhandled_error", 0)],
        ["unresolved escalations", stats.failures.get("unresolved_escalation", 0)],
        [
            "estimate vs actual",
            _estimate(stats.estimates) if stats.estimates else f"{NO_DATA} (no workflow declared one)",
        ],
    ]
    console.print(table("Workflows", _FACTS, rows))
    console.print(
        table(
            "Most common bot sequences",
            [Column("sequence", keep=ALWAYS, min_width=20, wrap=True), "workflows"],
            stats.most_common_patterns,
        )
    )


def _workflows_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top", type=at_least(1, int), default=5, help="How many bot sequences.")


def workflows(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    top: int = 5,
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """Count, success rate, average duration, bots per workflow, common bot sequences, estimates."""
    with an.paused_gc():
        stats = an.analyze_workflows(read_history(store, tempo, days=days, workspace=workspace), top=top)
    emit_json(stats) if as_json else _print_workflows(make_console(), stats, window(days, workspace))


# --- overhead ----------------------------------------------------------------------------------------
def _print_overhead(console: Console, stats: an.OverheadStats, where: str) -> None:
    if not stats.workflows:
        _why(console, f"Coordination overhead: no workflows {where}.")
        return
    measured = stats.coordination_s + stats.tool_s > 0
    overhead = (
        f"{stats.coordination_overhead_pct:.1f}% (threshold {stats.threshold_pct:g}%)"
        if measured
        else f"{NO_DATA} (no coordination or tool time recorded)"
    )
    coordination, tools = format_durations_alike([stats.coordination_s * 1e9, stats.tool_s * 1e9])
    rows: list[list[object]] = [
        ["overhead", overhead],
        ["coordination time", coordination],
        ["tool time", tools],
        ["avg coordination per workflow", format_seconds(stats.coordination_s / len(stats.workflows))],
        ["recommendation", stats.recommendation if measured else NO_DATA],
    ]
    console.print(table("Coordination overhead", _FACTS, rows))


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
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """Share of time in coordination (handoffs, escalations, messages) against tool execution."""
    with an.paused_gc():
        history = read_history(store, tempo, days=days, workspace=workspace)
        stats = an.coordination_overhead(history, threshold_pct=threshold)
    emit_json(stats) if as_json else _print_overhead(make_console(), stats, window(days, workspace))


# --- trends ------------------------------------------------------------------------------------------
def _rate(rate: float, sessions: int) -> str:
    return f"{rate:.1%} ({sessions})" if sessions else f"{NO_DATA} (no sessions)"


def _print_trends(console: Console, found: list[an.BotTrend], where: str) -> None:
    if not found:
        _why(console, f"Bot performance trends: no bot sessions {where}.")
        return
    console.print(
        table(
            "Bot performance trends (recent against earlier)",
            [
                Column("bot", keep=ALWAYS, min_width=8),
                Column("trend", keep=ALWAYS, whole=True),
                "recent success",
                "earlier success",
                "change",
                "duration change",
            ],
            [
                [
                    t.bot,
                    t.trend.replace("_", " "),
                    _rate(t.recent_success_rate, t.recent_sessions),
                    _rate(t.historical_success_rate, t.historical_sessions),
                    f"{t.success_rate_change:+.1%}" if t.recent_sessions and t.historical_sessions else NO_DATA,
                    f"{t.duration_change_pct:+.1f}%" if t.recent_sessions and t.historical_sessions else NO_DATA,
                ]
                for t in found
            ],
        )
    )
    if any(t.trend == "insufficient_data" for t in found):
        _why(console, "insufficient data: a trend needs sessions both in the recent days and before them.")


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
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """Recent against earlier success rate and duration per bot: improving, stable or declining."""
    with an.paused_gc():
        history = read_history(store, tempo, days=days, workspace=workspace)
        found = an.bot_trends(history, now_ns=time.time_ns(), recent_days=recent_days)
    name = bot_name(bot)
    if name is not None:
        _known_bots([name], [t.bot for t in found], window(days, workspace))
        found = [t for t in found if t.bot == name]
    emit_json(found) if as_json else _print_trends(make_console(), found, window(days, workspace))


# --- errors ------------------------------------------------------------------------------------------
def _print_errors(console: Console, clusters: list[an.ErrorCluster], where: str, clock: Clock) -> None:
    if not clusters:
        _why(console, f"Error clusters: no errors {where}.")
        return
    first_header, firsts = clock.column("first seen", [c.first_seen_ns for c in clusters])
    last_header, lasts = clock.column("last seen", [c.last_seen_ns for c in clusters])
    console.print(
        table(
            "Error clusters",
            [
                Column("fingerprint", keep=ALWAYS, min_width=16, wrap=True),
                "count",
                "workflows",
                Column("workspaces", keep=40, justify="right", whole=True),
                Column(last_header, keep=60, min_width=16, crop=True),
                Column(first_header, keep=30, min_width=16, crop=True),
                Column("sample", keep=50, min_width=20, wrap=True),
            ],
            [
                [c.fingerprint, c.count, c.workflows, len(c.workspaces), last, first, c.sample_message[:200]]
                for c, first, last in zip(clusters, firsts, lasts, strict=True)
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
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """Top error fingerprints with counts, affected workspaces, first and last seen, a sample."""
    with an.paused_gc():
        clusters = an.error_clusters(read_history(store, tempo, days=days, workspace=workspace), top=top)
    if as_json:
        emit_json(clusters)
    else:
        _print_errors(make_console(), clusters, window(days, workspace), Clock(utc=utc))


# --- compare -----------------------------------------------------------------------------------------
def _usage(value: str, row: an.BotRow) -> str:
    return value if row.sessions_with_usage else NO_DATA


def _print_compare(console: Console, rows: list[an.BotRow], where: str) -> None:
    if not rows:
        _why(console, f"Bot comparison: no bot sessions {where}.")
        return
    console.print(
        table(
            "Bot comparison",
            [
                Column("bot", keep=ALWAYS, min_width=8),
                "sessions",
                "success %",
                "first-shot %",
                "avg time",
                "avg tokens",
                "avg cost",
            ],
            [
                [
                    r.bot,
                    r.sessions,
                    f"{r.success_pct:.1f}%",
                    f"{r.first_shot_pct:.1f}%",
                    format_seconds(r.avg_time_s),
                    _usage(f"{r.avg_tokens:.0f}", r),
                    _usage(f"{r.avg_cost:.4f}", r),
                ]
                for r in rows
            ],
        )
    )
    _why(console, "sessions: workflows the bot took part in; success, time, tokens and cost are per session.")
    if any(not r.sessions_with_usage for r in rows):
        _why(console, "avg tokens, avg cost: - where no span of the bot recorded token usage or a cost.")


def _compare_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bots", nargs="*", metavar="BOT", help="Bots to compare (default: all).")


def _known_bots(names: Sequence[str], known: Sequence[str], where: str) -> None:
    """Refuse, in one line, a bot that did no work in the window (a typo must not read as a row of zeros)."""
    missing = [name for name in names if name not in known]
    if missing:
        seen = ", ".join(sorted(known)) or "none"
        raise fail(f"no bot {', '.join(map(repr, missing))} {where} (bots seen: {seen})")


def compare(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    bots: list[str] | None = None,
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """Sessions, success %, first-shot %, average time, tokens and cost per bot."""
    names = [name.lstrip("@") for name in bots or ()]
    with an.paused_gc():
        history = read_history(store, tempo, days=days, workspace=workspace)
        rows = an.compare_bots(history)
    _known_bots(names, [r.bot for r in rows], window(days, workspace))
    if names:
        rows = an.compare_bots(history, names)
    emit_json(rows) if as_json else _print_compare(make_console(), rows, window(days, workspace))


# --- all at once -------------------------------------------------------------------------------------
def analyze(
    store: str | None = None,
    tempo: str | None = None,
    days: float = 30.0,
    workspace: str | None = None,
    utc: bool = False,
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
    where = window(days, workspace)
    if not stats.total_workflows:
        _why(console, f"No workflows {where}: nothing to analyze (a longer --days, or `otel-worklog demo`).")
        return
    _print_workflows(console, stats, where)
    _print_overhead(console, coordination, where)
    _print_trends(console, bot_trends, where)
    _print_errors(console, clusters, where, Clock(utc=utc))
    _print_compare(console, bots, where)


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
