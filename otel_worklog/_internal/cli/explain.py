"""``otel-worklog explain``: one session's work log as a timeline."""

from __future__ import annotations

import argparse

from otel_worklog._internal.cli.common import emit_json, fail
from otel_worklog._internal.cli.options import Command, add_filters, add_json, add_source, add_trace_id, add_utc
from otel_worklog._internal.cli.reading import bot_name, pick_trace, reading
from otel_worklog._internal.query.worklog import build_worklog
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.data import worklog_dict
from otel_worklog._internal.render.terminal import render_worklog
from otel_worklog._internal.render.units import Clock, Display

__all__ = ["COMMAND", "MODES", "explain"]

#: The views of ``--mode``.
MODES = ("summary", "detailed", "debug", "coordination", "conversations")


def _options(parser: argparse.ArgumentParser) -> None:
    add_trace_id(parser)
    add_filters(parser)
    parser.add_argument(
        "-m", "--mode", choices=MODES, default="detailed", metavar="MODE", help=f"What to show: {', '.join(MODES)}."
    )
    add_utc(parser)
    add_source(parser)
    add_json(parser)


def explain(
    trace_id: str | None = None,
    workspace: str | None = None,
    bot: str | None = None,
    mode: str = "detailed",
    store: str | None = None,
    tempo: str | None = None,
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """Show a work log as a timeline: steps, confidence, tools, handoffs, escalations and alerts."""
    if mode not in MODES:
        raise fail(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    name = bot_name(bot)
    with reading(store, tempo) as reader:
        view = build_worklog(reader.trace(pick_trace(reader, trace_id, workspace, name)), bot=name)
    if as_json:
        emit_json(worklog_dict(view, mode=mode))
    else:
        make_console().print(render_worklog(view, mode=mode, bot=name, display=Display(Clock(utc=utc))))


COMMAND = Command(
    "Show a work log as a timeline: steps, confidence, tools, handoffs, escalations and alerts.", explain, _options
)
