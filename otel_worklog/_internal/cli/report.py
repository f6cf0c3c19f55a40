"""``otel-worklog report``: the weekly report, as Markdown, HTML with charts, or its data as JSON."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from otel_worklog._internal.cli.analysis import add_days, read_history
from otel_worklog._internal.cli.common import fail, to_json
from otel_worklog._internal.cli.options import Command, add_json, add_source, add_utc
from otel_worklog._internal.cli.reading import reading
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.analytics.analyses import NS_PER_DAY
from otel_worklog._internal.render import report as report_render

__all__ = ["COMMAND", "FORMATS", "report"]

FORMATS = ("markdown", "md", "html")
#: The most escalations the report lists.
_ESCALATIONS = 500


def _options(parser: argparse.ArgumentParser) -> None:
    add_days(parser, 7.0)
    parser.add_argument("--format", dest="fmt", metavar="FORMAT", help="markdown or html (default: markdown).")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="Write here instead of stdout.")
    add_utc(parser)
    add_source(parser)
    add_json(parser, help="The report's data as JSON instead of a document.")


def report(
    days: float = 7.0,
    fmt: str | None = None,
    output: Path | None = None,
    store: str | None = None,
    tempo: str | None = None,
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """The weekly report: workflows, overhead, bots, trends, escalations, errors and sessions, each session
    with its trace id and the command that opens it; as Markdown or HTML with charts."""
    if fmt is not None and fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; use markdown or html")
    if fmt is not None and as_json:
        raise fail("give either --json (the report's data) or --format (a document), not both")
    now = time.time_ns()
    with reading(store, tempo) as reader:
        raised = reader.escalations(since_ns=now - int(days * NS_PER_DAY), limit=_ESCALATIONS)
        escalations = an.escalations_of(raised, reader.resolutions({span.trace_id for span in raised}))
    with an.paused_gc():
        # Trends compare the window with what came before it, so read four windows back.
        history = read_history(store, tempo, days=days * 5)
        found = an.build_report(history, days=days, now_ns=now, escalations=escalations, utc=utc)
    if as_json:
        text = to_json(found)
    elif fmt == "html":
        text = report_render.to_html(found)
    else:
        text = report_render.to_markdown(found)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        sys.stderr.write(f"wrote {output}\n")


COMMAND = Command(
    "The weekly report (workflows, bots, escalations, errors, sessions and their traces) as Markdown, HTML or JSON.",
    report,
    _options,
)
