"""``otel-worklog escalations``: every escalation, newest first."""

from __future__ import annotations

import argparse

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import Command, add_filters, add_json, add_limit, add_source
from otel_worklog._internal.cli.reading import bot_name, reading
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.data import iso
from otel_worklog._internal.render.terminal import render_escalations

__all__ = ["COMMAND", "escalations"]


def _options(parser: argparse.ArgumentParser) -> None:
    add_filters(parser)
    add_limit(parser, 20, "How many escalations.")
    add_source(parser)
    add_json(parser)


def escalations(
    workspace: str | None = None,
    bot: str | None = None,
    limit: int = 20,
    store: str | None = None,
    tempo: str | None = None,
    as_json: bool = False,
) -> None:
    """List escalations, newest first, with reason, workspace, bot and trace id."""
    with reading(store, tempo) as reader:
        items = reader.escalations(workspace=workspace, bot=bot_name(bot), limit=limit)
    if not as_json:
        make_console().print(render_escalations(items))
        return
    emit_json(
        [
            {
                "time": iso(s.start_ns),
                "workspace": s.workspace_id,
                "bot": s.bot_name,
                "target": s.attributes.get(sc.WORKLOG_ESCALATION_TARGET),
                "reason": s.attributes.get(sc.WORKLOG_ESCALATION_REASON),
                "trace_id": s.trace_id,
                "span_id": s.span_id,
            }
            for s in items
        ]
    )


COMMAND = Command("List escalations, newest first, with reason, workspace, bot and trace id.", escalations, _options)
