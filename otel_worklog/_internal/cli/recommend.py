"""``otel-worklog recommend``: which bot is best for a task, ranked from past work."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from otel_worklog._internal.cli.analysis import ALWAYS, Column, add_days, read_history, table
from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import Command, add_json, add_source, unit_interval
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.render.console import clean, make_console
from otel_worklog._internal.render.units import days_text, format_seconds

__all__ = ["COMMAND", "recommend"]


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help='What needs doing, e.g. "API development".')
    parser.add_argument("--domain", help="Only bots whose past work mentions this domain (backend, research...).")
    parser.add_argument("--all", dest="show_all", action="store_true", help="List every candidate, ranked.")
    parser.add_argument(
        "--min-confidence", type=unit_interval, default=0.3, metavar="0..1", help="The least confidence to recommend."
    )
    add_days(parser, 90.0)
    add_source(parser)
    add_json(parser)


def _print(console: Console, candidates: Sequence[an.BotRecommendation]) -> None:
    console.print(
        table(
            "Candidates (best first)",
            [
                Column("bot", keep=ALWAYS, min_width=8),
                Column("confidence", keep=ALWAYS, justify="right", whole=True),
                Column("success", keep=90, justify="right", whole=True),
                Column("sessions", keep=80, justify="right", whole=True),
                Column("matching", keep=70, justify="right", whole=True),
                Column("relevance", keep=40, justify="right", whole=True),
                Column("avg time", keep=50, justify="right", whole=True),
                Column("recent", keep=30, whole=True),
                Column("matched words", keep=60, min_width=13, wrap=True),
            ],
            [
                [
                    r.bot,
                    f"{r.confidence:.0%}",
                    f"{r.success_rate:.0%}",
                    r.total_tasks,
                    r.matching_tasks,
                    f"{r.relevance:.0%}",
                    format_seconds(r.avg_duration_s),
                    r.recent_performance.replace("_", " "),
                    ", ".join(r.matched_keywords) or "-",
                ]
                for r in candidates
            ],
        )
    )


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
        candidates = an.recommend(history, task, domain=domain, include_all=True)
        outside_domain = domain is not None and not candidates
        if outside_domain:
            candidates = an.recommend(history, task, include_all=True)
    able = [c for c in candidates if c.confidence >= min_confidence]
    if as_json:
        emit_json(candidates if show_all else able[:1] if not outside_domain else [])
        return
    console = make_console()
    if outside_domain:
        console.print(Text(f"No bot's past work mentions the domain {clean(domain)!r}; ranked without it:"))
    elif able and not show_all:
        best = able[0]
        console.print(Text(f"Recommended: {clean(best.bot)} ({best.confidence:.0%} confidence)"))
    if not candidates:
        console.print(Text(f"No bot did any work in the last {days_text(days)}: nothing to rank."))
    elif show_all or outside_domain:
        _print(console, candidates)
    elif able:
        _print(console, able)
    else:
        closest = candidates[0]
        console.print(
            Text(
                f"No bot reaches confidence {min_confidence:g} for: {clean(task)}. Closest: {clean(closest.bot)}"
                f" ({closest.confidence:.0%}); --all lists every candidate, ranked."
            )
        )


COMMAND = Command("Which bot is best for a task, ranked from past work.", recommend, _options)
