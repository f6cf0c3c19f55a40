"""``otel-worklog insights``: the shareable insights bots recorded, with who they apply to."""

from __future__ import annotations

import argparse

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli.analysis import add_days, read_spans, table
from otel_worklog._internal.cli.common import emit_json, fail
from otel_worklog._internal.cli.options import Command, add_filters, add_json, add_source
from otel_worklog._internal.cli.reading import bot_name
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.render.console import make_console

__all__ = ["COMMAND", "insights"]


def _options(parser: argparse.ArgumentParser) -> None:
    add_filters(parser, bot=False)
    parser.add_argument("-b", "--bot", help="Only insights whose scope applies to this bot.")
    parser.add_argument("--category", help=f"One of: {', '.join(sc.INSIGHT_CATEGORIES)}.")
    add_days(parser, 90.0)
    add_source(parser)
    add_json(parser)


def insights(
    workspace: str | None = None,
    bot: str | None = None,
    category: str | None = None,
    store: str | None = None,
    tempo: str | None = None,
    days: float = 90.0,
    as_json: bool = False,
) -> None:
    """Shareable insights: confidence >= 0.85, with their scope."""
    if category is not None and category not in sc.INSIGHT_CATEGORIES:
        raise fail(f"unknown category {category!r}; use one of {', '.join(sc.INSIGHT_CATEGORIES)}")
    with an.paused_gc():
        spans = read_spans(store, tempo, days=days)
        found = an.list_insights(spans, workspace=workspace, bot=bot_name(bot), category=category)
    if as_json:
        emit_json(found)
        return
    make_console().print(
        table(
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


COMMAND = Command("Shareable insights bots recorded: confidence >= 0.85, with their scope.", insights, _options)
