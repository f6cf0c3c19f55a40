"""``otel-worklog how``: search entries, tool errors and exceptions across sessions, each match with the
steps around it."""

from __future__ import annotations

import argparse

from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import (
    Command,
    add_filters,
    add_json,
    add_limit,
    add_source,
    add_utc,
    at_least,
)
from otel_worklog._internal.cli.reading import bot_name, display, reading, workspace_name
from otel_worklog._internal.exceptions import TraceNotFound
from otel_worklog._internal.query.records import EntryHit, TraceReader
from otel_worklog._internal.query.worklog import Entry, build_worklog
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.data import entry_dict, hit_dict
from otel_worklog._internal.render.terminal import render_hits

__all__ = ["COMMAND", "how"]


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query",
        help="What to look for: 'rate limit', 'why escalate', timeout. Every word must match, in any form "
        "(escalate finds escalation); entries, tool errors and exceptions are searched.",
    )
    add_filters(parser)
    add_limit(parser, 5, "How many matches to show (the newest).")
    parser.add_argument(
        "-C", "--context", dest="around", type=at_least(0, int), default=2, help="Entries of context on each side."
    )
    add_utc(parser)
    add_source(parser)
    add_json(parser)


def _context(
    reader: TraceReader, hit: EntryHit, cache: dict[str, list[Entry]], around: int
) -> tuple[list[Entry], Entry | None]:
    """The entries around ``hit`` in its session, and the hit's own entry (None for a failed step)."""
    entries = cache.get(hit.trace_id)
    if entries is None:
        try:
            entries = build_worklog(reader.trace(hit.trace_id)).entries
        except TraceNotFound:
            entries = []
        cache[hit.trace_id] = entries
    if hit.is_error:
        index = next((i for i, e in enumerate(entries) if e.time_ns > hit.event.time_ns), len(entries))
        return entries[max(0, index - around) : index + around], None
    for index, entry in enumerate(entries):
        if entry.span_id == hit.span_id and entry.time_ns == hit.event.time_ns and entry.name == hit.event.name:
            return entries[max(0, index - around) : index + around + 1], entry
    return [], None


def how(
    query: str,
    workspace: str | None = None,
    bot: str | None = None,
    limit: int = 5,
    around: int = 2,
    store: str | None = None,
    tempo: str | None = None,
    utc: bool = False,
    as_json: bool = False,
) -> None:
    """Search entries, tool errors and exceptions across sessions; show each match with the steps around it."""
    with reading(store, tempo) as reader:
        found = reader.search(query, workspace=workspace_name(reader, workspace), bot=bot_name(bot), limit=limit)
        cache: dict[str, list[Entry]] = {}
        results = [(hit, *_context(reader, hit, cache, around)) for hit in found.hits]
        shown = display(reader, [hit.trace_id for hit in found.hits], utc=utc) if not as_json else None
    if shown is None:
        emit_json(
            [
                {**hit_dict(hit, matched), "context": [entry_dict(e) for e in context]}
                for hit, context, matched in results
            ]
        )
    else:
        make_console().print(render_hits(query, results, found.total, shown))


COMMAND = Command(
    "Search entries, tool errors and exceptions across sessions; show each match with the steps around it.",
    how,
    _options,
)
