"""What the analytics commands (analyze, recommend, insights, report) share.

They read spans only through ``open_reader(store=..., tempo=...)``, over a window of days, and
print plain tables (or JSON with ``--json``). Trace text is untrusted: it is rendered as plain
text, never as markup, one line per cell, through the console that drops control characters.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator, Sequence

from rich.text import Text

from otel_worklog._internal.cli.options import at_least
from otel_worklog._internal.cli.reading import reading, workspace_name
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.analytics.analyses import NS_PER_DAY
from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.render.console import clean
from otel_worklog._internal.render.fit import ALWAYS, Column, Fitted, fitted
from otel_worklog._internal.render.units import days_text

__all__ = ["ALWAYS", "Column", "add_days", "read_history", "read_spans", "table", "window"]


def add_days(parser: argparse.ArgumentParser, default: object) -> None:
    """``--days N``: the window read."""
    parser.add_argument("--days", type=at_least(0.01), default=default, metavar="N", help="Look at the last N days.")


def read_spans(
    store: str | None, tempo: str | None, *, days: float | None, workspace: str | None = None
) -> Iterator[SpanRecord]:
    """Every span of the last ``days`` days (all with None), read lazily."""
    with reading(store, tempo) as reader:
        since = time.time_ns() - int(days * NS_PER_DAY) if days else None
        yield from reader.iter_spans(since_ns=since, workspace=workspace_name(reader, workspace))


def read_history(
    store: str | None, tempo: str | None, *, days: float | None, workspace: str | None = None
) -> an.History:
    """The workflows of the last ``days`` days."""
    return an.build_history(read_spans(store, tempo, days=days, workspace=workspace))


def window(days: float | None, workspace: str | None = None) -> str:
    """``in the last 30 days in #general``: the window a figure covers, for the line that says why there is none."""
    where = f" in {workspace}" if workspace else ""
    return (f"in the last {days_text(days)}" if days else "in the store") + where


def table(title: str, columns: Sequence[Column | str], rows: Sequence[Sequence[object]]) -> Fitted:
    """A table of plain text that fits the terminal.

    A column given by its header alone is a number: right-aligned, shown whole, dropped before the
    columns to its left on a narrow terminal (the first column is never dropped).
    """
    specs = [
        column
        if isinstance(column, Column)
        else Column(
            column,
            keep=ALWAYS if index == 0 else 100 - index,
            justify="left" if index == 0 else "right",
            whole=index > 0,
        )
        for index, column in enumerate(columns)
    ]
    return fitted(specs, [[Text(clean(cell)) for cell in row] for row in rows], title=title)
