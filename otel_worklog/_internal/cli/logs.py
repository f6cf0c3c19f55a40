"""``otel-worklog logs``: recent workspace sessions, one row each."""

from __future__ import annotations

import argparse

from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import Command, add_filters, add_json, add_limit, add_source, add_utc
from otel_worklog._internal.cli.reading import bot_name, display, reading, workspace_name
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.data import session_dict
from otel_worklog._internal.render.terminal import render_sessions

__all__ = ["COMMAND", "logs"]


def _options(parser: argparse.ArgumentParser) -> None:
    add_filters(parser)
    add_limit(parser, 10, "How many sessions.")
    add_utc(parser)
    add_source(parser)
    add_json(parser)


def logs(
    workspace: str | None = None,
    bot: str | None = None,
    limit: int = 10,
    store: str | None = None,
    tempo: str | None = None,
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """List recent workspace sessions: workspace, type, bots, duration, status, escalations, errors."""
    with reading(store, tempo) as reader:
        sessions = reader.sessions(workspace=workspace_name(reader, workspace), bot=bot_name(bot), limit=limit)
        shown = display(reader, [s.trace_id for s in sessions], utc=utc) if not as_json else None
    if shown is None:
        emit_json([session_dict(s) for s in sessions])
    elif not sessions:
        make_console().print("[yellow]No work logs found.[/yellow]")
    else:
        make_console().print(render_sessions(sessions, shown))


COMMAND = Command(
    "List recent workspace sessions: workspace, type, bots, duration, status, escalations, errors.", logs, _options
)
