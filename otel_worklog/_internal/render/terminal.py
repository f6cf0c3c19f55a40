"""Rich renderings of sessions and work logs for the terminal.

Every piece of trace text goes into a :class:`rich.text.Text` as plain text,
never as markup, so a message like ``[red]`` or ``[link=…]`` prints literally.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import EntryHit, SessionSummary, SpanRecord
from otel_worklog._internal.query.worklog import Entry, HandoffItem, WorkLogView

__all__ = [
    "confidence_style",
    "render_escalations",
    "render_hits",
    "render_sessions",
    "render_worklog",
]


LEVEL_ICONS = {
    "info": "ℹ",
    "thinking": "🧠",
    "decision": "🎯",
    "correction": "🔄",
    "uncertainty": "❓",
    "warning": "⚠",
    "error": "❌",
    "handoff": "🤝",
    "coordination": "🧭",
}
LEVEL_STYLES = {
    "info": "white",
    "thinking": "dim",
    "decision": "bold cyan",
    "correction": "magenta",
    "uncertainty": "yellow",
    "warning": "yellow",
    "error": "bold red",
    "handoff": "blue",
    "coordination": "bold blue",
}


def confidence_style(confidence: float | None) -> str:
    """Green when sure, yellow when so-so, red below the low-confidence threshold."""
    if confidence is None:
        return "dim"
    if confidence >= 0.85:
        return "green"
    if confidence >= 0.7:
        return "yellow"
    return "bold red"


def _confidence(confidence: float | None) -> Text:
    return Text(f"{confidence:.0%}" if confidence is not None else "", style=confidence_style(confidence))


def _duration(ms: float) -> str:
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def _when(time_ns: int) -> str:
    return _dt.datetime.fromtimestamp(time_ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")


def _offset(time_ns: int, start_ns: int) -> str:
    return f"+{max(0, time_ns - start_ns) / 1e9:.3f}s"


def _t(value: object, style: str = "") -> Text:
    return Text("" if value is None else str(value), style=style)


# -- logs -----------------------------------------------------------------------
def render_sessions(sessions: Sequence[SessionSummary]) -> RenderableType:
    table = Table(title="Recent work logs", title_justify="left")
    table.add_column("Started", style="dim", no_wrap=True)
    table.add_column("Workspace", style="cyan")
    table.add_column("Type", style="green")
    table.add_column("Bots", style="yellow")
    table.add_column("Duration", justify="right")
    table.add_column("Status")
    table.add_column("Esc.", justify="right")
    table.add_column("Err.", justify="right")
    table.add_column("Trace", style="dim", no_wrap=True)
    for s in sessions:
        status = {
            "ok": ("✓ ok", "green"),
            "recovered": ("↻ recovered", "yellow"),
            "error": ("✗ error", "red"),
            "escalated": ("🚨 escalated", "bold red"),
        }
        label, style = status[s.status]
        bots = ", ".join(s.bots[:4]) + (f" +{len(s.bots) - 4}" if len(s.bots) > 4 else "")
        table.add_row(
            _when(s.start_ns),
            _t(s.workspace_id or "-"),
            _t(s.workspace_type or "-"),
            _t(bots),
            _duration(s.duration_ms),
            Text(label, style=style),
            Text(str(s.escalations), style="bold red" if s.escalations else "dim"),
            Text(str(s.errors), style="red" if s.errors else "dim"),
            s.trace_id,
        )
    return table


# -- explain ----------------------------------------------------------------------
def _header(view: WorkLogView, bot: str | None) -> RenderableType:
    title = Text("Work log for ")
    title.append(view.workspace_id or "(no workspace)", style="bold cyan")
    if view.workspace_type:
        title.append(f" ({view.workspace_type})", style="green")
    if bot:
        title.append("  ·  entries from ", style="dim")
        title.append(f"@{bot}", style="yellow")
    lines = [title]
    if view.query:
        lines.append(Text("Query: ", style="dim") + _t(view.query))
    meta = Text("Bots: ", style="dim") + _t(", ".join(view.bots) or "-", "yellow")
    if view.coordinator:
        meta += Text("   Coordinator: ", style="dim") + _t(view.coordinator, "yellow")
    lines.append(meta)
    status_style = {"ok": "green", "recovered": "yellow", "error": "red", "escalated": "bold red"}[view.status]
    lines.append(
        Text("Started: ", style="dim")
        + Text(_when(view.start_ns))
        + Text("   Duration: ", style="dim")
        + Text(_duration(view.duration_ms))
        + Text("   Status: ", style="dim")
        + Text(view.status, style=status_style)
    )
    lines.append(Text("Trace: ", style="dim") + Text(view.trace_id, style="dim"))
    return Panel(Group(*lines), expand=False)


class _Lines:
    """A timeline table drawn as plain lines: fixed columns, then the message wrapped under its own column.

    Rich's Table measures every cell of every row before drawing; for a session of a few hundred entries
    that alone costs more than reading the trace, so the timeline lays itself out in one pass.
    """

    _HEADERS = ("Step", "Time", "Bot", "Level", "Conf.", "What happened")
    _RIGHT = (True, False, False, False, True)
    _STYLES = ("bold", "dim", "yellow", "", "")

    def __init__(self) -> None:
        self.rows: list[tuple[Text, ...]] = []

    def add_row(self, step: object, time: object, bot: object, level: object, message: object, conf: object) -> None:
        cells = (step, time, bot, level, conf)
        fixed = tuple(c if isinstance(c, Text) else Text(str(c), style=self._STYLES[i]) for i, c in enumerate(cells))
        self.rows.append((*fixed, message if isinstance(message, Text) else Text(str(message))))

    def __rich_console__(self, console: Console, options: Any) -> Any:
        widths = [len(h) for h in self._HEADERS[:5]]
        for row in self.rows:
            for i in range(5):
                widths[i] = max(widths[i], row[i].cell_len)

        def prefix(cells: Sequence[Text]) -> Text:
            out = Text()
            for i, cell in enumerate(cells):
                pad = " " * (widths[i] - cell.cell_len)
                if self._RIGHT[i]:
                    out.append(pad)
                    out.append_text(cell)
                else:
                    out.append_text(cell)
                    out.append(pad)
                out.append("  ")
            return out

        yield prefix([Text(h, style="bold") for h in self._HEADERS[:5]]) + Text(self._HEADERS[5], style="bold")
        indent = sum(widths) + 2 * 5
        room = max(20, options.max_width - indent)
        for row in self.rows:
            first = True
            for part in row[5].split("\n"):
                for line in part.wrap(console, room):
                    yield (prefix(row[:5]) if first else Text(" " * indent)) + line
                    first = False


def _entry_row(table: _Lines, e: Entry, start_ns: int) -> None:
    level = Text(f"{LEVEL_ICONS.get(e.level, '•')} {e.level}", style=LEVEL_STYLES.get(e.level, ""))
    message = Text()
    if e.category not in (sc.CATEGORY_GENERAL, ""):
        message.append(f"[{e.category}] ", style="dim")
    if e.insight:
        message.append("💡 insight ", style="bold green" if e.shareable else "green")
    message.append(e.message)
    if e.flagged_from:
        message.append(f"  (low-confidence {e.flagged_from})", style="red")
    if e.mentions:
        message.append("  → " + " ".join(e.mentions), style="yellow")
    if e.response_to is not None:
        message.append(f"  ↩ step {e.response_to}", style="dim")
    table.add_row(
        _t(e.step if e.step is not None else "", "bold"),
        _offset(e.time_ns, start_ns),
        _t(e.bot or "-", "yellow"),
        level,
        message,
        _confidence(e.confidence),
    )


def _timeline(view: WorkLogView, *, entries: Sequence[Entry], details: bool) -> _Lines:
    table = _Lines()
    # A handoff or an escalation is both a span and an entry; show it once, on the entry's step.
    handoff_steps: dict[tuple[str, int | None], HandoffItem] = {
        (h.from_bot, h.step): h for h in view.handoffs if h.step is not None
    }
    escalation_entries = [e for e in entries if e.category == sc.CATEGORY_ESCALATION]
    items: list[tuple[int, int, Any]] = []
    shown_handoffs: dict[str, int | None] = {}
    for e in entries:
        matched = handoff_steps.get((e.bot or "", e.step)) if e.level == "handoff" else None
        if matched is not None:
            shown_handoffs[matched.span_id] = e.step
        else:
            items.append((e.time_ns, 0, e))
    items += [(t.start_ns, 1, t) for t in view.tools]
    items += [(h.time_ns, 2, h) for h in view.handoffs]
    items += [(x.time_ns, 3, x) for x in view.escalations if not any(x.reason in e.message for e in escalation_entries)]
    items.sort(key=lambda item: (item[0], item[1]))
    for _, kind, item in items:
        if kind == 0:
            if item.category == sc.CATEGORY_ESCALATION:
                table.add_row(
                    _t(item.step if item.step is not None else "", "bold"),
                    _offset(item.time_ns, view.start_ns),
                    _t(item.bot or "-", "yellow"),
                    Text("🚨 escalate", style="bold red"),
                    Text(item.message, style="bold red"),
                    "",
                )
            else:
                _entry_row(table, item, view.start_ns)
            if details and item.details:
                table.add_row("", "", "", "", Text(json.dumps(item.details, default=str), style="dim"), "")
        elif kind == 1:
            ok = item.status == sc.TOOL_STATUS_SUCCESS
            text = Text(f"{item.name} ", style="bold")
            text.append(f"{'✓' if ok else '✗'} {item.status}", style="green" if ok else "bold red")
            text.append(f"  {_duration(item.duration_ms)}", style="dim")
            if not ok and (item.error_type or item.error_message):
                text.append(f"  {item.error_type or ''}: {item.error_message or ''}", style="red")
            if details:
                text.append(f"\n  in:  {json.dumps(item.arguments, default=str)[:400]}", style="dim")
                text.append(f"\n  out: {json.dumps(item.result, default=str)[:400]}", style="dim")
            table.add_row(
                "",
                _offset(item.start_ns, view.start_ns),
                _t(item.bot or "-", "yellow"),
                Text("🔧 tool", style="cyan"),
                text,
                "",
            )
        elif kind == 2:
            text = Text()
            text.append(item.from_bot, style="yellow")
            text.append(" ──▶ ", style="bold blue")
            text.append(item.to_bot, style="yellow")
            if item.reason:
                text.append(f"  {item.reason}")
            if item.artifacts:
                text.append("  [" + ", ".join(item.artifacts) + "]", style="dim")
            if not item.receivers:
                text.append("  (not picked up in this trace)", style="dim")
            step = shown_handoffs.get(item.span_id, item.step)
            table.add_row(
                _t(step if step is not None else "", "bold"),
                _offset(item.time_ns, view.start_ns),
                _t(item.from_bot, "yellow"),
                Text("🤝 handoff", style="blue"),
                text,
                "",
            )
        else:
            text = Text("ESCALATION: ", style="bold red") + Text(item.reason, style="red")
            table.add_row(
                "",
                _offset(item.time_ns, view.start_ns),
                _t(item.bot or "-", "yellow"),
                Text("🚨 escalate", style="bold red"),
                text,
                "",
            )
    return table


def _escalation_panels(view: WorkLogView) -> list[RenderableType]:
    panels: list[RenderableType] = []
    for x in view.escalations:
        body = Text(x.reason)
        body.append(f"\n\nraised by {x.bot or '?'} → {x.target or 'user'} at {_when(x.time_ns)}", style="dim")
        if x.resolution is not None:
            body.append("\nresolved: ", style="green")
            body.append(x.resolution)
        panels.append(Panel(body, title="🚨 Escalation", border_style="red", expand=False))
    return panels


def _summary(view: WorkLogView, entries: Sequence[Entry]) -> list[RenderableType]:
    out: list[RenderableType] = []
    key = [e for e in entries if e.level in ("decision", "uncertainty", "correction") or e.insight]
    stats = Text(
        f"{len(entries)} entries · {len(view.tools)} tool calls · {len(view.handoffs)} handoffs · "
        f"{len(view.escalations)} escalations · {len(view.errors)} errors"
    )
    out.append(stats)
    if key:
        table = Table(title="Key decisions", title_justify="left", box=None, show_header=False)
        for _ in range(4):
            table.add_column()
        for e in key:
            table.add_row(
                _t(f"Step {e.step}" if e.step is not None else "", "bold"),
                _t(e.bot or "-", "yellow"),
                Text(f"{LEVEL_ICONS.get(e.level, '•')} ") + Text(e.message),
                _confidence(e.confidence),
            )
        out.append(table)
    if view.tools:
        tools: dict[str, list[Any]] = {}
        for t in view.tools:
            row = tools.setdefault(t.name, [0, 0, 0.0])
            row[0] += 1
            row[1] += t.status != sc.TOOL_STATUS_SUCCESS
            row[2] += t.duration_ms
        table = Table(title="Tools", title_justify="left", box=None)
        table.add_column("Tool", style="bold")
        table.add_column("Calls", justify="right")
        table.add_column("Failed", justify="right")
        table.add_column("Time", justify="right")
        for name, (calls, failed, ms) in tools.items():
            table.add_row(_t(name), str(calls), Text(str(failed), style="red" if failed else "dim"), _duration(ms))
        out.append(table)
    for h in view.handoffs:
        out.append(
            Text("🤝 ")
            + _t(h.from_bot, "yellow")
            + Text(" ──▶ ", "bold blue")
            + _t(h.to_bot, "yellow")
            + Text(f"  {h.reason or ''}")
        )
    errors = [e for e in entries if e.level == "error"]
    if errors or view.errors:
        out.append(Text("⚠ Errors", style="bold red"))
        for e in errors:
            out.append(Text(f"  Step {e.step}: ", style="red") + Text(e.message))
        for s in view.errors:
            out.append(
                Text(f"  {s.name}: ", style="red") + Text(s.status_message or str(s.attributes.get(sc.ERROR_TYPE, "")))
            )
    return out


def _coordination(view: WorkLogView, entries: Sequence[Entry]) -> list[RenderableType]:
    coordinator = view.coordinator
    chosen = [
        e
        for e in entries
        if e.level in ("coordination", "decision", "uncertainty")
        or e.category in ("coordination", sc.CATEGORY_ESCALATION)
        or (e.is_message and e.mentions and (coordinator is None or e.bot == coordinator))
    ]
    out: list[RenderableType] = []
    table = Table(title=f"Coordinator decisions ({coordinator or 'no coordinator'})", title_justify="left")
    table.add_column("Step", justify="right")
    table.add_column("Bot", style="yellow")
    table.add_column("Kind")
    table.add_column("Decision / delegation")
    table.add_column("Conf.", justify="right")
    for e in chosen:
        kind = "delegate" if e.is_message and e.mentions else e.level
        msg = Text(e.message)
        if e.mentions:
            msg.append("  → " + " ".join(e.mentions), style="yellow")
        table.add_row(
            _t(e.step), _t(e.bot), Text(kind, style=LEVEL_STYLES.get(e.level, "")), msg, _confidence(e.confidence)
        )
    out.append(table)
    delegations: dict[str, int] = {}
    for e in entries:
        if e.is_message and (coordinator is None or e.bot == coordinator):
            for m in e.mentions:
                delegations[m.lstrip("@")] = delegations.get(m.lstrip("@"), 0) + 1
    for h in view.handoffs:
        delegations[h.to_bot] = delegations.get(h.to_bot, 0) + 1
    if delegations:
        d = Table(title="Delegations", title_justify="left", box=None)
        d.add_column("To", style="yellow")
        d.add_column("Times", justify="right")
        for bot, count in sorted(delegations.items(), key=lambda kv: -kv[1]):
            d.add_row(_t(bot), str(count))
        out.append(d)
    confidences = [e.confidence for e in chosen if e.confidence is not None]
    avg = sum(confidences) / len(confidences) if confidences else None
    stats = Text(f"{len(chosen)} coordination entries · {len(view.handoffs)} handoffs · ")
    stats.append(f"{len(view.escalations)} escalations", style="bold red" if view.escalations else "")
    stats.append(" · average confidence ")
    stats.append_text(_confidence(avg) if avg is not None else Text("-", style="dim"))
    out.append(stats)
    return out


def _conversations(entries: Sequence[Entry]) -> list[RenderableType]:
    messages = [e for e in entries if e.is_message]
    if not messages:
        return [Text("No bot-to-bot messages in this session.", style="yellow")]
    tree = Tree(Text("💬 Bot conversations", style="bold"))
    nodes: dict[int, Tree] = {}
    last_mention: dict[str, Tree] = {}
    for e in messages:
        label = Text(f"Step {e.step} " if e.step is not None else "", style="bold")
        label.append(e.bot or "?", style="yellow")
        if e.mentions:
            label.append(" → " + " ".join(e.mentions), style="cyan")
        label.append(": ")
        label.append(e.message)
        parent: Tree | None = None
        if e.response_to is not None and e.response_to in nodes:
            parent = nodes[e.response_to]
            label.append(f"  ↩ {e.response_to}", style="dim")
        elif e.response_to is None and e.bot and e.bot in last_mention:
            parent = last_mention[e.bot]
            label.append("  (answers a mention)", style="dim")
        node = (parent or tree).add(label)
        if e.step is not None:
            nodes[e.step] = node
        for m in e.mentions:
            last_mention[m.lstrip("@")] = node
    return [tree]


def render_worklog(view: WorkLogView, *, mode: str = "detailed", bot: str | None = None) -> RenderableType:
    entries = view.entries
    parts: list[RenderableType] = [_header(view, bot)]
    if mode == "summary":
        parts += _summary(view, entries)
    elif mode == "coordination":
        parts += _coordination(view, entries)
    elif mode == "conversations":
        parts += _conversations(entries)
    else:
        parts.append(_timeline(view, entries=entries, details=mode == "debug"))
        if mode == "debug":
            parts.append(_span_table(view.spans, view.start_ns))
    parts += _escalation_panels(view)
    return Group(*parts)


def _span_table(spans: Sequence[SpanRecord], start_ns: int) -> Table:
    table = Table(title="Spans", title_justify="left")
    table.add_column("Span id", style="dim", no_wrap=True)
    table.add_column("Parent", style="dim", no_wrap=True)
    table.add_column("Name")
    table.add_column("Bot", style="yellow")
    table.add_column("Start", style="dim")
    table.add_column("Duration", justify="right")
    table.add_column("Status")
    table.add_column("Attributes", style="dim")
    for s in spans:
        table.add_row(
            s.span_id,
            s.parent_span_id or "-",
            _t(s.name),
            _t(s.bot_name or "-"),
            _offset(s.start_ns, start_ns),
            _duration(s.duration_ms),
            Text(s.status_code, style="red" if s.is_error else ""),
            Text(json.dumps(dict(s.attributes), default=str)[:600]),
        )
    return table


# -- how / escalations --------------------------------------------------------------
def render_hits(query: str, hits: Sequence[tuple[EntryHit, list[Entry], Entry | None]]) -> RenderableType:
    if not hits:
        return Text(f"No entries found matching {query!r}", style="yellow")
    parts: list[RenderableType] = [Text(f"Found {len(hits)} matching entries for {query!r}:", style="cyan")]
    for hit, context, matched in hits:
        attrs = hit.event.attributes
        head = Text()
        head.append(hit.workspace_id or "-", style="bold cyan")
        head.append(f" · step {attrs.get(sc.WORKLOG_STEP, '?')} · ", style="dim")
        head.append(hit.bot_name or "-", style="yellow")
        head.append(f" · trace {hit.trace_id[:12]}", style="dim")
        body = Table(box=None, show_header=False, pad_edge=False)
        body.add_column(justify="right")
        body.add_column()
        body.add_column()
        body.add_column(justify="right")
        rows = context or []
        for e in rows:
            is_hit = matched is not None and e is matched
            msg = Text(e.message, style="bold" if is_hit else "dim")
            body.add_row(
                Text(
                    ("▶ " if is_hit else "") + (str(e.step) if e.step is not None else ""),
                    style="bold" if is_hit else "dim",
                ),
                _t(e.bot or "-", "yellow" if is_hit else "dim"),
                Text(f"{LEVEL_ICONS.get(e.level, '•')} ") + msg,
                _confidence(e.confidence),
            )
        if not rows:
            message = attrs.get(sc.WORKLOG_MESSAGE, "")
            conf = attrs.get(sc.WORKLOG_CONFIDENCE)
            body.add_row(
                "▶", _t(hit.bot_name), _t(message, "bold"), _confidence(conf if isinstance(conf, float) else None)
            )
        parts.append(Panel(body, title=head, title_align="left", expand=False))
    return Group(*parts)


def render_escalations(items: Sequence[SpanRecord]) -> RenderableType:
    if not items:
        return Text("No escalations found.", style="green")
    table = Table(title="🚨 Escalations (newest first)", title_justify="left", border_style="red")
    table.add_column("When", style="dim", no_wrap=True)
    table.add_column("Workspace", style="cyan")
    table.add_column("Bot", style="yellow")
    table.add_column("Target")
    table.add_column("Reason", style="red")
    table.add_column("Trace", style="dim", no_wrap=True)
    for s in items:
        table.add_row(
            _when(s.start_ns),
            _t(s.workspace_id or "-"),
            _t(s.bot_name or "-"),
            _t(s.attributes.get(sc.WORKLOG_ESCALATION_TARGET, "user")),
            _t(s.attributes.get(sc.WORKLOG_ESCALATION_REASON, "")),
            s.trace_id,
        )
    return table
