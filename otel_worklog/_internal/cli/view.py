"""``otel-worklog view``: one trace as a self-contained HTML page."""

from __future__ import annotations

import argparse
from pathlib import Path

from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import Command, add_filters, add_json, add_source, add_trace_id, add_utc
from otel_worklog._internal.cli.reading import bot_name, pick_trace, reading
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.html import render_html
from otel_worklog._internal.render.units import Clock, plural

__all__ = ["COMMAND", "view"]


def _options(parser: argparse.ArgumentParser) -> None:
    add_trace_id(parser)
    parser.add_argument("--html", dest="html_file", type=Path, metavar="FILE", help="Where to write the page.")
    add_filters(parser)
    add_source(parser)
    add_utc(parser)
    add_json(parser, help="Say where the page went as JSON: trace id and file.")


def view(
    trace_id: str | None = None,
    html_file: Path | None = None,
    workspace: str | None = None,
    bot: str | None = None,
    store: str | None = None,
    tempo: str | None = None,
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """Write one self-contained HTML page with the trace as a waterfall (a lane per bot)."""
    with reading(store, tempo) as reader:
        spans = reader.trace(pick_trace(reader, trace_id, workspace, bot_name(bot)))
    target = html_file or Path(f"worklog-{spans[0].trace_id[:12]}.html")
    target.write_text(render_html(spans, clock=Clock(utc=utc)), encoding="utf-8")
    if as_json:
        emit_json({"trace_id": spans[0].trace_id, "html": str(target.resolve())})
    else:
        make_console().print(
            f"Wrote {target} ({plural(len(spans), 'span')}). Open it in any browser; it needs no network."
        )


COMMAND = Command("Write one self-contained HTML page with the trace as a waterfall (a lane per bot).", view, _options)
