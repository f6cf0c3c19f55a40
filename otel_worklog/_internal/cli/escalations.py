"""``otel-worklog escalations``: every escalation, newest first, open or resolved."""

from __future__ import annotations

import argparse

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import Command, add_filters, add_json, add_limit, add_source, add_utc
from otel_worklog._internal.cli.reading import bot_name, display, reading, workspace_name
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.data import iso
from otel_worklog._internal.render.terminal import render_escalations

__all__ = ["COMMAND", "escalations"]


def _options(parser: argparse.ArgumentParser) -> None:
    add_filters(parser)
    add_limit(parser, 20, "How many escalations.")
    add_utc(parser)
    add_source(parser)
    add_json(parser)


def escalations(
    workspace: str | None = None,
    bot: str | None = None,
    limit: int = 20,
    store: str | None = None,
    tempo: str | None = None,
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """List escalations, newest first: open or resolved, reason, workspace, bot and trace id."""
    with reading(store, tempo) as reader:
        items = reader.escalations(workspace=workspace_name(reader, workspace), bot=bot_name(bot), limit=limit)
        trace_ids = [s.trace_id for s in items]
        resolutions = reader.resolutions(trace_ids)
        shown = display(reader, trace_ids, utc=utc) if not as_json else None
    if shown is not None:
        make_console().print(render_escalations(items, resolutions, shown))
        return
    emit_json(
        [
            {
                "time": iso(s.start_ns),
                "workspace": s.workspace_id,
                "bot": s.bot_name,
                "target": s.attributes.get(sc.WORKLOG_ESCALATION_TARGET),
                "reason": s.attributes.get(sc.WORKLOG_ESCALATION_REASON),
                "status": "resolved" if s.span_id.lower() in resolutions else "open",
                "resolution": resolutions.get(s.span_id.lower()),
                "trace_id": s.trace_id,
                "span_id": s.span_id,
            }
            for s in items
        ]
    )


COMMAND = Command(
    "List escalations, newest first: open or resolved, reason, workspace, bot and trace id.", escalations, _options
)
