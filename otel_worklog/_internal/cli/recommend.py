"""``otel-worklog recommend``: which bot is best for a task, ranked from past work."""

from __future__ import annotations

import argparse

from rich.text import Text

from otel_worklog._internal.cli.analysis import add_days, read_history, table
from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import Command, add_json, add_source, unit_interval
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.render.console import clean, make_console
from otel_worklog._internal.render.report import fmt_seconds

__all__ = ["COMMAND", "recommend"]


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help='What needs doing, e.g. "API development".')
    parser.add_argument("--domain", help="Only bots whose history mentions this domain.")
    parser.add_argument("--all", dest="show_all", action="store_true", help="List every candidate.")
    parser.add_argument(
        "--min-confidence", type=unit_interval, default=0.3, metavar="0..1", help="The least confidence to recommend."
    )
    add_days(parser, 90.0)
    add_source(parser)
    add_json(parser)


def recommend(
    task: str,
    domain: str | None = None,
    show_all: bool = False,
    min_confidence: float = 0.3,
    store: str | None = None,
    tempo: str | None = None,
    days: float = 90.0,
    as_json: bool = False,
) -> None:
    """Which bot is best for a task, ranked from the work each bot did before."""
    with an.paused_gc():
        history = read_history(store, tempo, days=days)
        found = an.recommend(history, task, domain=domain, min_confidence=min_confidence, include_all=show_all)
    shown = found if show_all else found[:1]
    if as_json:
        emit_json(shown)
        return
    console = make_console()
    if not shown:
        console.print(Text(f"No bot reaches confidence {min_confidence:g} for: {clean(task)} (try --all)"))
        return
    if not show_all:
        best = shown[0]
        console.print(Text(f"Recommended: {clean(best.bot)} ({best.confidence:.0%} confidence)"))
    console.print(
        table(
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


COMMAND = Command("Which bot is best for a task, ranked from past work.", recommend, _options)
