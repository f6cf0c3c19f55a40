"""``otel-worklog export``: traces as OTLP JSON, for any other backend or a file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from otel_worklog._internal.cli.common import fail
from otel_worklog._internal.cli.options import Command, add_filters, add_json, add_limit, add_source, add_trace_id
from otel_worklog._internal.cli.reading import pick_trace, reading, workspace_name
from otel_worklog._internal.exceptions import TraceNotFound
from otel_worklog._internal.query.otlp_json import encode_traces
from otel_worklog._internal.render.controls import escape_in_json
from otel_worklog._internal.render.units import plural

__all__ = ["COMMAND", "FORMATS", "export"]

FORMATS = ("otlp-json",)


def _options(parser: argparse.ArgumentParser) -> None:
    add_trace_id(parser)
    add_filters(parser, bot=False)
    add_limit(parser, 10_000, "Most sessions exported with -w.")
    parser.add_argument("-f", "--format", dest="fmt", default="otlp-json", help="Output format: otlp-json.")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="File to write (default: stdout).")
    add_source(parser)
    add_json(parser, help="JSON output: OTLP JSON, the same as --format otlp-json.")


def export(
    trace_id: str | None = None,
    workspace: str | None = None,
    fmt: str = "otlp-json",
    output: Path | None = None,
    limit: int = 10_000,
    store: str | None = None,
    tempo: str | None = None,
    as_json: bool = False,
) -> None:
    """Write a trace (or every session of a workspace with -w) as OTLP JSON.

    OTLP JSON is JSON already, so ``--json`` asks for what ``export`` writes anyway.
    """
    if fmt not in FORMATS:
        raise fail(f"unknown format {fmt!r}; only otlp-json is supported")
    with reading(store, tempo) as reader:
        if trace_id is None and workspace is not None:
            workspace = workspace_name(reader, workspace)
            sessions = reader.sessions(workspace=workspace, limit=limit)
            if not sessions:
                raise TraceNotFound(f"no work-log sessions in {workspace}")
            spans = [span for s in reversed(sessions) for span in reader.trace(s.trace_id)]
        else:
            spans = reader.trace(pick_trace(reader, trace_id, None, None))
    text = escape_in_json(json.dumps(encode_traces(spans), ensure_ascii=False, separators=(",", ":")))
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        sys.stderr.write(f"wrote {plural(len(spans), 'span')} to {output}\n")


COMMAND = Command("Write a trace (or every session of a workspace with -w) as OTLP JSON.", export, _options)
