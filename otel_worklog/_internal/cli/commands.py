"""The read commands (logs, explain, how, escalations, view, export) plus demo and prune."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli.common import MODES, fail, guard
from otel_worklog._internal.exceptions import ReaderError, TraceNotFound
from otel_worklog._internal.query.otlp_json import encode_traces
from otel_worklog._internal.query.readers import open_reader
from otel_worklog._internal.query.records import EntryHit, TraceReader
from otel_worklog._internal.query.worklog import Entry, build_worklog
from otel_worklog._internal.render.console import make_console
from otel_worklog._internal.render.data import entry_dict, hit_dict, iso, session_dict, worklog_dict
from otel_worklog._internal.render.terminal import (
    render_escalations,
    render_hits,
    render_sessions,
    render_worklog,
)
from otel_worklog._internal.store import connect, resolve_retention_days, resolve_store_path
from otel_worklog._internal.store import prune as prune_store
from otel_worklog._internal.store.retention import cutoff_for

__all__ = ["demo", "escalations", "explain", "export", "how", "logs", "prune", "view"]


def _bot(name: str | None) -> str | None:
    return name.lstrip("@") if name else None


@contextlib.contextmanager
def _reader(store: str | None, tempo: str | None) -> Iterator[TraceReader]:

    reader = open_reader(store=store, tempo=tempo)
    try:
        yield reader
    finally:
        reader.close()


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")


def _pick_trace(reader: TraceReader, trace_id: str | None, workspace: str | None, bot: str | None) -> str:
    if trace_id:
        return trace_id
    found = reader.latest_trace_id(workspace=workspace, bot=bot)
    if found is None:
        where = " ".join(p for p in (f"in {workspace}" if workspace else "", f"with @{bot}" if bot else "") if p)
        raise TraceNotFound(f"no work-log sessions {where}".strip() + " (run `otel-worklog demo` to make some)")
    return found


def logs(
    workspace: str | None = None,
    bot: str | None = None,
    limit: int = 10,
    store: str | None = None,
    tempo: str | None = None,
    as_json: bool = False,
) -> None:
    """List recent workspace sessions: workspace, type, bots, duration, status, escalations, errors."""
    with guard(), _reader(store, tempo) as reader:
        sessions = reader.sessions(workspace=workspace, bot=_bot(bot), limit=limit)
        if as_json:
            _emit_json([session_dict(s) for s in sessions])
        elif not sessions:
            make_console().print("[yellow]No work logs found.[/yellow]")
        else:
            make_console().print(render_sessions(sessions))


def explain(
    trace_id: str | None = None,
    workspace: str | None = None,
    bot: str | None = None,
    mode: str = "detailed",
    store: str | None = None,
    tempo: str | None = None,
    as_json: bool = False,
) -> None:
    """Show a work log as a timeline: steps, confidence, tools, handoffs and escalations."""
    if mode not in MODES:
        raise fail(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    name = _bot(bot)
    with guard(), _reader(store, tempo) as reader:
        chosen = _pick_trace(reader, trace_id, workspace, name)
        view = build_worklog(reader.trace(chosen), bot=name)
        if as_json:
            _emit_json(worklog_dict(view, mode=mode))
        else:
            make_console().print(render_worklog(view, mode=mode, bot=name))


def _context(
    reader: TraceReader, hit: EntryHit, cache: dict[str, list[Entry]], around: int
) -> tuple[list[Entry], Entry | None]:
    entries = cache.get(hit.trace_id)
    if entries is None:
        try:
            entries = build_worklog(reader.trace(hit.trace_id)).entries
        except TraceNotFound:
            entries = []
        cache[hit.trace_id] = entries
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
    as_json: bool = False,
) -> None:
    """Search entries across sessions and show each match with the steps around it."""
    with guard(), _reader(store, tempo) as reader:
        hits = reader.search_entries(query, workspace=workspace, bot=_bot(bot), limit=limit)
        cache: dict[str, list[Entry]] = {}
        results = [(hit, *_context(reader, hit, cache, around)) for hit in hits]
        if as_json:
            _emit_json([{**hit_dict(hit), "context": [entry_dict(e) for e in context]} for hit, context, _ in results])
        else:
            make_console().print(render_hits(query, results))


def escalations(
    workspace: str | None = None,
    bot: str | None = None,
    limit: int = 20,
    store: str | None = None,
    tempo: str | None = None,
    as_json: bool = False,
) -> None:
    """List escalations, newest first, with reason, workspace, bot and trace id."""

    with guard(), _reader(store, tempo) as reader:
        items = reader.escalations(workspace=workspace, bot=_bot(bot), limit=limit)
        if as_json:
            _emit_json(
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
        else:
            make_console().print(render_escalations(items))


def view(
    trace_id: str | None = None,
    html_file: Path | None = None,
    workspace: str | None = None,
    bot: str | None = None,
    store: str | None = None,
    tempo: str | None = None,
    as_json: bool = False,
) -> None:
    """Write one self-contained HTML page with the trace as a waterfall (a lane per bot)."""
    with guard(), _reader(store, tempo) as reader:
        chosen = _pick_trace(reader, trace_id, workspace, _bot(bot))
        spans = reader.trace(chosen)
        target = html_file or Path(f"worklog-{spans[0].trace_id[:12]}.html")
        from otel_worklog._internal.render.html import render_html

        target.write_text(render_html(spans), encoding="utf-8")
        if as_json:
            _emit_json({"trace_id": spans[0].trace_id, "html": str(target.resolve())})
        else:
            make_console().print(f"Wrote {target} ({len(spans)} spans). Open it in any browser; it needs no network.")


def export(
    trace_id: str | None = None,
    workspace: str | None = None,
    fmt: str = "otlp-json",
    output: Path | None = None,
    limit: int = 10_000,
    store: str | None = None,
    tempo: str | None = None,
) -> None:
    """Write a trace (or every session of a workspace with -w) as OTLP JSON."""
    if fmt != "otlp-json":
        raise fail(f"unknown format {fmt!r}; only otlp-json is supported")
    with guard(), _reader(store, tempo) as reader:
        if trace_id is None and workspace is not None:
            sessions = reader.sessions(workspace=workspace, limit=limit)
            if not sessions:
                raise TraceNotFound(f"no work-log sessions in {workspace}")
            spans = [span for s in reversed(sessions) for span in reader.trace(s.trace_id)]
        else:
            spans = reader.trace(_pick_trace(reader, trace_id, None, None))
        text = json.dumps(encode_traces(spans), ensure_ascii=False, separators=(",", ":"))
        if output is None:
            sys.stdout.write(text + "\n")
        else:
            output.write_text(text + "\n", encoding="utf-8")
            sys.stderr.write(f"wrote {len(spans)} spans to {output}\n")


def prune(
    older_than: float | None = None,
    dry_run: bool = False,
    vacuum: bool = False,
    store: str | None = None,
    as_json: bool = False,
) -> None:
    """Delete sessions older than the retention period from the embedded store."""

    with guard():
        path = resolve_store_path(store if store else ...)
        if path is None:
            raise ReaderError("the embedded store is switched off (OTEL_WORKLOG_STORE=none); pass --store PATH")
        days = older_than if older_than is not None else float(resolve_retention_days())
        if days < 0:
            raise fail("--older-than must be zero or more days")
        if older_than is None and days == 0:
            make_console().print("Retention is 0 days (keep everything); pass --older-than DAYS to prune.")
            return
        conn = connect(path, create=False)
        try:
            result = prune_store(conn, older_than_ns=cutoff_for(days), dry_run=dry_run)
            if vacuum and not dry_run:
                conn.execute("VACUUM")
        finally:
            conn.close()
        if as_json:
            _emit_json({"sessions": result.traces, "spans": result.spans, "dry_run": dry_run, "older_than_days": days})
        else:
            verb = "Would delete" if dry_run else "Deleted"
            make_console().print(f"{verb} {result.traces} sessions ({result.spans} spans) older than {days:g} days.")


def demo(store: str | None = None, as_json: bool = False) -> None:
    """Play the seeds' four workspaces (A-D) through the public API into the store, then say what to run next."""
    with guard():
        from otel_worklog._internal.cli.demo import run_demo

        run_demo(store=store, as_json=as_json)
