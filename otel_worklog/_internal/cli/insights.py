"""``otel-worklog insights``: the shareable insights bots recorded, with who they apply to."""

from __future__ import annotations

import argparse

from rich.text import Text

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli.analysis import ALWAYS, Column, add_days, read_spans, table, window
from otel_worklog._internal.cli.common import emit_json, fail
from otel_worklog._internal.cli.options import Command, add_filters, add_json, add_source
from otel_worklog._internal.cli.reading import bot_name, reading, workspace_name
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
    with an.paused_gc(), reading(store, tempo) as reader:
        workspace = workspace_name(reader, workspace)
        spans = read_spans(store, tempo, days=days)
        found = an.list_insights(spans, workspace=workspace, bot=bot_name(bot), category=category)
    if as_json:
        emit_json(found)
        return
    if not found:
        make_console().print(Text(f"No shared insights {window(days, workspace)}.", style="yellow"))
        return
    make_console().print(
        table(
            "Shared insights",
            [
                Column("insight", keep=ALWAYS, min_width=20, wrap=True),
                Column("category", keep=50, whole=True),
                Column("confidence", keep=60, justify="right", whole=True),
                Column("scope", keep=30, whole=True),
                Column("applies to", keep=70, min_width=10),
                Column("from", keep=40, min_width=6),
                Column("workspace", keep=20, min_width=10),
            ],
            [
                [
                    i.text[:300],
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
