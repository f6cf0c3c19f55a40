"""Reply helpers: an answer with "How I decided this", and the agent artifact for the next agent.

Both read the work log back from a trace (the embedded store by default, or any
:class:`TraceReader`), so what a user or the next agent sees is exactly what was
recorded. Called inside a workspace they also read the work still in progress: the
open workspace and bot spans of this process, which are not exported until they end.
Work-log text is untrusted: it is HTML- and Markdown-escaped here.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace as otel_trace

from otel_worklog._internal.exceptions import ReaderError, TraceNotFound
from otel_worklog._internal.query.readers import open_reader
from otel_worklog._internal.query.records import TraceReader
from otel_worklog._internal.query.worklog import Entry, WorkLogView, build_worklog
from otel_worklog._internal.render.data import entry_dict
from otel_worklog._internal.render.live import open_spans, with_open_spans
from otel_worklog._internal.render.units import format_duration

__all__ = ["ARTIFACT_SCHEMA", "format_response", "markdown_escape", "to_agent_artifact"]

logger = logging.getLogger("otel_worklog")

ARTIFACT_SCHEMA = "work-log-v1"
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()|~])")
#: Every character that ends a line somewhere: Markdown's own (LF, CR, CRLF) and the rest str.splitlines() knows.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
_ICONS = {"decision": "🎯", "uncertainty": "❓", "correction": "🔄", "error": "❌", "warning": "⚠️"}


def markdown_escape(text: object) -> str:
    """Text that renders literally in Markdown, on one line, and cannot open raw HTML.

    Every line break becomes a space: a carriage return alone ends a line in Markdown, and what follows
    it could start a heading or a list item that the text never had.
    """
    escaped = html.escape("" if text is None else str(text), quote=False)
    return _LINE_BREAKS.sub(" ", _MD_SPECIAL.sub(r"\\\1", escaped))


@contextmanager
def _open(reader: TraceReader | None, store: str | None, tempo: str | None) -> Iterator[TraceReader]:
    """``reader``, else Tempo or the store given, else the store the current configuration writes to."""
    if reader is not None:
        yield reader
        return
    if store is None and tempo is None:
        from otel_worklog._internal.pipeline.configure import configured_store

        configured = configured_store()
        store = str(configured) if configured is not None else None
    opened = open_reader(store=store, tempo=tempo)
    try:
        yield opened
    finally:
        opened.close()


def _current_trace_id() -> str | None:
    ctx = otel_trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def _flush() -> None:
    try:
        from otel_worklog._internal.pipeline.configure import force_flush

        force_flush()
    except Exception:  # the helper still works from whatever is already exported
        logger.debug("otel_worklog: force_flush before reading the work log failed", exc_info=True)


def _load(trace_id: str | None, reader: TraceReader) -> WorkLogView:
    """The trace's work log: what the reader has, plus the open spans of the current workspace in it."""
    chosen = trace_id or _current_trace_id()
    if chosen is None:
        chosen = reader.latest_trace_id()
        if chosen is None:
            raise ReaderError("no work-log sessions recorded yet")
    live = open_spans(chosen)
    try:
        stored = reader.trace(chosen)
    except TraceNotFound:
        if not live:
            raise
        stored = []  # nothing of the session has ended yet
    return build_worklog(with_open_spans(stored, live))


def _confidence(e: Entry) -> str:
    return f" ({e.confidence:.0%})" if e.confidence is not None else ""


def _headline(view: WorkLogView) -> list[str]:
    esc = markdown_escape
    return [
        f"**Workspace:** {esc(view.workspace_id or '-')} ({esc(view.workspace_type or '-')})  ",
        f"**Query:** {esc(view.query or '-')}  ",
        f"**Bots:** {esc(', '.join(view.bots) or '-')} · **Steps:** {len(view.entries)} · "
        f"**Duration:** {format_duration(view.end_ns - view.start_ns)} · **Status:** {esc(view.status)}",
        "",
    ]


def _entry_lines(view: WorkLogView, mode: str) -> list[str]:
    """The key decisions (``summary``) or every step (any other mode), of every bot, in order."""
    esc = markdown_escape
    if mode != "summary":
        return ["**Steps:**"] + [
            f"- Step {e.step} \\[{esc(e.level)}\\] {esc(e.bot or '-')}: {esc(e.message)}{_confidence(e)}"
            for e in view.entries
        ]
    key = [e for e in view.entries if e.level in _ICONS or e.insight]
    if not key:
        return []
    return ["**Key decisions:**"] + [
        f"- {_ICONS.get(e.level, '💡')} Step {e.step}: {esc(e.bot or '-')}: {esc(e.message)}{_confidence(e)}"
        for e in key
    ]


def _tool_line(view: WorkLogView) -> list[str]:
    if not view.tools:
        return []
    esc = markdown_escape
    used = ", ".join(
        f"{esc(t.name)} ({'✓' if t.status == 'success' else '✗ ' + esc(t.status)}, {t.duration_ms:.0f} ms)"
        for t in view.tools
    )
    return ["", f"**Tools used:** {used}"]


def _problem_lines(view: WorkLogView) -> list[str]:
    """Handoffs, errors and escalations, each under its heading when there are any."""
    esc = markdown_escape
    lines: list[str] = []
    if view.handoffs:
        lines += ["", "**Handoffs:** " + ", ".join(f"{esc(h.from_bot)} → {esc(h.to_bot)}" for h in view.handoffs)]
    errors = [e for e in view.entries if e.level == "error"]
    if errors or view.errors:
        lines += ["", "**⚠️ Errors:**"]
        lines += [f"- Step {e.step}: {esc(e.message)}" for e in errors]
        lines += [f"- {esc(s.name)}: {esc(s.status_message)}" for s in view.errors]
    if view.escalations:
        lines += ["", "**🚨 Escalations:**"]
        lines += [
            f"- {esc(x.bot or '-')} → {esc(x.target or 'user')}: {esc(x.reason)}"
            + (f" (resolved: {esc(x.resolution)})" if x.resolution is not None else "")
            for x in view.escalations
        ]
    return lines


def _log_lines(view: WorkLogView, mode: str) -> list[str]:
    return _headline(view) + _entry_lines(view, mode) + _tool_line(view) + _problem_lines(view)


def format_response(
    result: str,
    trace_id: str | None = None,
    *,
    mode: str = "summary",
    fmt: str = "markdown",
    reader: TraceReader | None = None,
    store: str | None = None,
    tempo: str | None = None,
) -> str:
    """``result`` plus a collapsible "How I decided this" block built from the trace.

    The trace is ``trace_id``, else the current one (flushed first), else the latest session. When no work log
    can be read the answer comes back with a one-line tip instead; this never raises for missing data.
    ``fmt="html"`` escapes ``result`` too; with Markdown ``result`` is yours and left as it is.
    """
    if fmt not in ("markdown", "html"):
        raise ValueError("fmt must be 'markdown' or 'html'")
    if trace_id is None:
        _flush()
    try:
        with _open(reader, store, tempo) as source:
            view = _load(trace_id, source)
    except ReaderError as exc:
        logger.info("otel_worklog: no work log for the response: %s", exc)
        tip = "💡 Tip: run `otel-worklog explain` to see how this was decided."
        return f"{result}\n\n{tip}" if fmt == "markdown" else f"<p>{html.escape(result)}</p>\n<p>{html.escape(tip)}</p>"
    lines = _log_lines(view, mode)
    explain = f"otel-worklog explain {view.trace_id} --mode detailed"
    if fmt == "markdown":
        body = "\n".join(lines)
        return (
            f"{result}\n\n---\n\n<details>\n<summary>🔍 How I decided this (work log)</summary>\n\n{body}\n\n"
            f"Run `{explain}` for the full timeline.\n</details>\n"
        )
    items = "".join(f"<li>{html.escape(_strip_md(line))}</li>" for line in lines if line.strip())
    return (
        f'<div class="worklog-response"><p>{html.escape(result)}</p>'
        f"<details><summary>🔍 How I decided this (work log)</summary><ul>{items}</ul>"
        f"<p>Run <code>{html.escape(explain)}</code> for the full timeline.</p></details></div>"
    )


def _strip_md(line: str) -> str:
    """Undo the Markdown layer (the HTML form escapes on its own)."""
    text = line.removeprefix("- ").replace("**", "")
    text = re.sub(r"\\(.)", r"\1", text)
    return html.unescape(text)


def to_agent_artifact(
    trace_id: str | None = None,
    *,
    reader: TraceReader | None = None,
    store: str | None = None,
    tempo: str | None = None,
) -> dict[str, Any]:
    """A trace as a structured artifact for the next agent: decisions, tools, summary, next actions.

    Raises :class:`~otel_worklog._internal.query.records.ReaderError` (``TraceNotFound``) when the trace cannot be read.
    """
    if trace_id is None:
        _flush()
    with _open(reader, store, tempo) as source:
        view = _load(trace_id, source)
    decisions = [
        {**entry_dict(e), "low_confidence": e.low_confidence or (e.confidence is not None and e.confidence < 0.7)}
        for e in view.decisions
    ]
    actions = _next_actions(view)
    return {
        "schema": ARTIFACT_SCHEMA,
        "trace_id": view.trace_id,
        "workflow_id": view.trace_id,
        "workspace": view.workspace_id,
        "workspace_type": view.workspace_type,
        "query": view.query,
        "producer_agent": view.coordinator or (view.bots[0] if view.bots else None),
        "bots": list(view.bots),
        "decisions": decisions,
        "tools": _tools(view),
        "handoffs": [
            {"from": h.from_bot, "to": h.to_bot, "artifacts": list(h.artifacts), "reason": h.reason}
            for h in view.handoffs
        ],
        "escalations": [
            {"reason": x.reason, "bot": x.bot, "target": x.target, "resolution": x.resolution} for x in view.escalations
        ],
        "summary": _summary(view, len(decisions)),
        "next_actions": actions,
        "recommendations": list(actions),  # the same list under its earlier name
    }


def _tools(view: WorkLogView) -> list[dict[str, Any]]:
    return [
        {
            "tool": t.name,
            "bot": t.bot,
            "input": t.arguments,
            "output": t.result,
            "status": t.status,
            "duration_ms": round(t.duration_ms, 3),
            "error": f"{t.error_type}: {t.error_message}" if t.error_type else None,
        }
        for t in view.tools
    ]


def _error_count(view: WorkLogView) -> int:
    return sum(1 for e in view.entries if e.level == "error") + len(view.errors)


def _next_actions(view: WorkLogView) -> list[str]:
    """The ``next_actions`` found in tool outputs, then what the work log itself asks for."""
    actions: list[str] = []
    for t in view.tools:
        if isinstance(t.result, dict) and isinstance(t.result.get("next_actions"), list):
            actions += [str(a) for a in t.result["next_actions"] if str(a) not in actions]
    wanted = (
        ("review_errors", _error_count(view) > 0),
        ("verify_low_confidence_decisions", bool(view.low_confidence)),
        ("resolve_escalations", any(x.resolution is None for x in view.escalations)),
    )
    return actions + [action for action, needed in wanted if needed and action not in actions]


def _summary(view: WorkLogView, decisions: int) -> dict[str, Any]:
    return {
        "total_steps": len(view.entries),
        "decisions": decisions,
        "low_confidence": len(view.low_confidence),
        "tool_calls": len(view.tools),
        "tool_errors": sum(1 for t in view.tools if t.status != "success"),
        "errors": _error_count(view),
        "escalations": len(view.escalations),
        "handoffs": len(view.handoffs),
        "total_duration_ms": round(view.duration_ms, 3),
        "tool_duration_ms": round(sum(t.duration_ms for t in view.tools), 3),
    }
