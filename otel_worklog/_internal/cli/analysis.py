"""What the analytics commands (analyze, recommend, insights, report) share.

They read spans only through ``open_reader(store=..., tempo=...)``, over a window of days, and
print plain tables (or JSON with ``--json``). Trace text is untrusted: it is rendered as plain
text, never as markup, one line per cell, through the console that drops control characters.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator, Sequence

from rich.table import Table
from rich.text import Text

from otel_worklog._internal.cli.options import at_least
from otel_worklog._internal.cli.reading import reading
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.analytics.analyses import NS_PER_DAY
from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.render.console import clean

__all__ = ["add_days", "read_history", "read_spans", "table"]


def add_days(parser: argparse.ArgumentParser, default: object) -> None:
    """``--days N``: the window read."""
    parser.add_argument("--days", type=at_least(0.01), default=default, metavar="N", help="Look at the last N days.")


def read_spans(
    store: str | None, tempo: str | None, *, days: float | None, workspace: str | None = None
) -> Iterator[SpanRecord]:
    """Every span of the last ``days`` days (all with None), read lazily."""
    with reading(store, tempo) as reader:
        since = time.time_ns() - int(days * NS_PER_DAY) if days else None
        yield from reader.iter_spans(since_ns=since, workspace=workspace)


def read_history(
    store: str | None, tempo: str | None, *, days: float | None, workspace: str | None = None
) -> an.History:
    """The workflows of the last ``days`` days."""
    return an.build_history(read_spans(store, tempo, days=days, workspace=workspace))


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A table of plain text: the first column left, the others right."""
    result = Table(title=title, title_justify="left")
    for index, header in enumerate(headers):
        result.add_column(header, justify="left" if index == 0 else "right")
    for row in rows:
        result.add_row(*(Text(clean(cell)) for cell in row))
    return result
