"""Rich renderings of sessions and work logs for the terminal.

Every piece of trace text goes into a :class:`rich.text.Text` as plain text,
never as markup, so a message like ``[red]`` or ``[link=…]`` prints literally.
Every table is laid out for the width it is drawn in (:mod:`.fit`): on 80 or 60
columns the columns of least worth go first and messages wrap, and trace ids
are shown as the shortest prefix that names them (every command accepts one).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import EntryHit, SessionSummary, SpanRecord
from otel_worklog._internal.query.worklog import Entry, EscalationItem, HandoffItem, ToolCall, WorkLogView
from otel_worklog._internal.render.fit import ALWAYS, Column, Fitted, fitted
from otel_worklog._internal.render.units import Display, format_duration, plural, span_status
from otel_worklog._internal.span_kinds import ALERT

__all__ = [
    "ALERT_ICON",
    "ESCALATION_ICON",
    "confidence_style",
    "entry_icon",
    "render_escalations",
    "render_hits",
    "render_sessions",
    "render_worklog",
]

ESCALATION_ICON: Final = "🚨"
ALERT_ICON: Final = "🔔"
TOOL_ICON: Final = "🔧"
HANDOFF_ICON: Final = "🤝"
LEVEL_ICONS: Final = {
    "info": "ℹ",
    "thinking": "🧠",
    "decision": "🎯",
    "correction": "🔄",
    "uncertainty": "❓",
    "warning": "⚠",
    "error": "❌",
    "handoff": HANDOFF_ICON,
    "coordination": "🧭",
}
LEVEL_STYLES: Final = {
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
STATUS_LABELS: Final = {
    "ok": ("✓ ok", "green"),
    "recovered": ("↻ recovered", "yellow"),
    "error": ("✗ error", "red"),
    "escalated": (f"{ESCALATION_ICON} escalated", "bold red"),
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


def entry_icon(entry: Entry) -> str:
    """The icon of an entry, the same in every view: an escalation is 🚨 whatever its level."""
    if entry.category == sc.CATEGORY_ESCALATION:
        return ESCALATION_ICON
    return LEVEL_ICONS.get(entry.level, "•")


def _confidence(confidence: float | None) -> Text:
    return Text(f"{confidence:.0%}" if confidence is not None else "", style=confidence_style(confidence))


def _offset(time_ns: int, start_ns: int) -> str:
    """Time into the session: ``+0.364 s``, or ``+2:05.3`` from 100 s on."""
    seconds = max(0, time_ns - start_ns) / 1e9
    if seconds < 100:
        return f"+{seconds:.3f} s"
    minutes, rest = divmod(seconds, 60)
    return f"+{int(minutes)}:{rest:04.1f}"


def _ms(ms: float) -> str:
    return format_duration(ms * 1e6)


def _t(value: object, style: str = "") -> Text:
    return Text("" if value is None else str(value), style=style)


def _status(status: str) -> Text:
    label, style = STATUS_LABELS[status]
    return Text(label, style=style)


def _escalation_counts(open_count: int, resolved: int) -> Text:
    if not open_count and not resolved:
        return Text("0", style="dim")
    parts = [Text(f"{open_count} open", style="bold red")] if open_count else []
    if resolved:
        parts.append(Text(f"{resolved} resolved", style="green"))
    return Text(", ").join(parts)


# -- logs -----------------------------------------------------------------------
def _bots(names: Sequence[str], shown: int = 2) -> str:
    """``coder, nanobot +2``: the first bots by name, and how many more."""
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" +{more}" if more > 0 else "") if names else "-"


def render_sessions(sessions: Sequence[SessionSummary], display: Display | None = None) -> RenderableType:
    shown = display or Display()
    header, times = shown.clock.column("Started", [s.start_ns for s in sessions])
    columns = [
        Column(header, keep=50, min_width=16, style="dim", crop=True),
        Column("Workspace", keep=90, min_width=11, style="cyan"),
        Column("Type", keep=10, style="green", whole=True),
        Column("Bots", keep=40, min_width=10, style="yellow"),
        Column("Duration", keep=30, justify="right", whole=True),
        Column("Status", keep=ALWAYS, whole=True),
        Column("Escalations", keep=20, justify="right", whole=True),
        Column("Errors", keep=15, justify="right", whole=True),
        Column("Trace", keep=ALWAYS, style="dim", whole=True),
    ]
    rows = [
        [
            when,
            _t(s.workspace_id or "-"),
            _t(s.workspace_type or "-"),
            _t(_bots(s.bots)),
            format_duration(s.end_ns - s.start_ns),
            _status(s.status),
            _escalation_counts(s.outcome.open_escalations, s.resolved_escalations),
            Text(str(s.errors), style="red" if s.errors else "dim"),
            shown.trace(s.trace_id),
        ]
        for s, when in zip(sessions, times, strict=True)
    ]
    return fitted(columns, rows, title="Recent work logs")


# -- explain ----------------------------------------------------------------------
def _status_line(view: WorkLogView) -> Text:
    outcome = view.outcome
    line = Text("Status: ", style="dim") + _status(view.status)
    notes = []
    if outcome.open_escalations:
        notes.append(plural(outcome.open_escalations, "escalation") + " waiting for a human")
    if outcome.resolved_escalations:
        notes.append(plural(outcome.resolved_escalations, "escalation") + " resolved")
    if notes:
        line.append("  (" + "; ".join(notes) + ")", style="dim")
    return line


def _header(view: WorkLogView, bot: str | None, display: Display) -> RenderableType:
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
    lines.append(
        Text("Started: ", style="dim")
        + Text(display.clock.time(view.start_ns))
        + Text("   Duration: ", style="dim")
        + Text(format_duration(view.end_ns - view.start_ns))
    )
    lines.append(_status_line(view))
    lines.append(Text("Trace: ", style="dim") + Text(view.trace_id, style="dim"))
    return Panel(Group(*lines), expand=False)


@dataclass(frozen=True)
class _Row:
    """One line of the timeline: the fixed cells, the level (its icon apart) and what happened."""

    step: Text
    time: Text
    bot: Text
    icon: str
    level: Text
    message: Text
    confidence: Text


class _Timeline:
    """The timeline drawn as plain lines: fixed columns, then the message wrapped under its own column.

    Rich's Table measures every cell of every row before drawing; for a session of a few hundred entries
    that alone costs more than reading the trace, so the timeline lays itself out in one pass. On a narrow
    terminal the level becomes an icon before the message, then the time goes, then bot names are cut:
    what happened keeps the room to be read.
    """

    _ROOMY: Final = 40
    _NO_TIME: Final = 32
    _SHORT_BOTS: Final = 26
    _BOT_CUT: Final = 8
    _BELOW: Final = 16

    def __init__(self) -> None:
        self.rows: list[_Row] = []

    def add(
        self,
        step: object,
        time: str,
        bot: Text,
        icon: str,
        level: str,
        message: Text,
        confidence: Text | None = None,
        *,
        style: str = "",
    ) -> None:
        self.rows.append(
            _Row(
                _t(step, "bold"),
                Text(time, style="dim"),
                bot,
                icon,
                Text(f"{icon} {level}" if icon else level, style=style),
                message,
                confidence or Text(""),
            )
        )

    def _columns(self, width: int) -> tuple[list[tuple[str, int, bool, str]], bool]:
        """The fixed columns to draw (header, width, right-aligned, field), and whether the level is an icon."""
        columns = [
            ("Step", max([4, *(r.step.cell_len for r in self.rows)]), True, "step"),
            ("Time", max([4, *(r.time.cell_len for r in self.rows)]), False, "time"),
            ("Bot", max([3, *(r.bot.cell_len for r in self.rows)]), False, "bot"),
            ("Level", max([5, *(r.level.cell_len for r in self.rows)]), False, "level"),
            ("Conf.", 5, True, "confidence"),
        ]

        def room() -> int:
            return width - sum(w + 2 for _, w, _, _ in columns)

        folded = room() < self._ROOMY
        if folded:
            columns = [c for c in columns if c[3] != "level"]
        if room() < self._NO_TIME:
            columns = [c for c in columns if c[3] != "time"]
        if room() < self._SHORT_BOTS:
            columns = [(h, min(w, self._BOT_CUT), r, f) if f == "bot" else (h, w, r, f) for h, w, r, f in columns]
        return columns, folded

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        columns, folded = self._columns(width)

        def prefix(cells: Sequence[Text]) -> Text:
            out = Text()
            for (_, size, right, _), cell in zip(columns, cells, strict=True):
                if cell.cell_len > size:
                    cell = cell.copy()
                    cell.truncate(size, overflow="ellipsis")
                pad = " " * (size - cell.cell_len)
                out.append_text(Text(pad) + cell if right else cell + Text(pad))
                out.append("  ")
            return out

        yield prefix([Text(h, style="bold") for h, _, _, _ in columns]) + Text("What happened", style="bold")
        indent = sum(size + 2 for _, size, _, _ in columns)
        below = width - indent < self._BELOW
        room = width - 4 if below else width - indent
        for row in self.rows:
            message = Text(row.icon + " ", style=row.level.style) + row.message if folded and row.icon else row.message
            fixed = prefix([getattr(row, name) for _, _, _, name in columns])
            lines = [line for part in message.split("\n") for line in part.wrap(console, max(1, room))]
            if below:
                yield fixed
                yield from (Text("    ") + line for line in lines)
                continue
            for index, line in enumerate(lines):
                yield (fixed if index == 0 else Text(" " * indent)) + line


def _entry_message(e: Entry) -> Text:
    message = Text()
    if e.category not in (sc.CATEGORY_GENERAL, "", sc.CATEGORY_ESCALATION):
        message.append(f"[{e.category}] ", style="dim")
    if e.insight:
        message.append("💡 insight ", style="bold green" if e.shareable else "green")
    message.append(e.message, style="bold red" if e.category == sc.CATEGORY_ESCALATION else "")
    if e.flagged_from:
        message.append(f"  (low-confidence {e.flagged_from})", style="red")
    if e.mentions:
        message.append("  → " + " ".join(e.mentions), style="yellow")
    if e.response_to is not None:
        message.append(f"  ↩ step {e.response_to}", style="dim")
    return message


def _bot(name: str | None) -> Text:
    return _t(name or "-", "yellow")


def _resolution_of(e: Entry, view: WorkLogView) -> str | None:
    """The resolution of the escalation an escalation entry announced, if it was resolved."""
    return next((x.resolution for x in view.escalations if x.reason and x.reason in e.message), None)


def _add_entry(table: _Timeline, e: Entry, view: WorkLogView, details: bool) -> None:
    escalation = e.category == sc.CATEGORY_ESCALATION
    message = _entry_message(e)
    resolution = _resolution_of(e, view) if escalation else None
    if resolution is not None:
        message.append(f"  ✓ resolved: {resolution}", style="green")
    table.add(
        e.step if e.step is not None else "",
        _offset(e.time_ns, view.start_ns),
        _bot(e.bot),
        entry_icon(e),
        "escalate" if escalation else e.level,
        message,
        _confidence(e.confidence),
        style="bold red" if escalation else LEVEL_STYLES.get(e.level, ""),
    )
    if details and e.details:
        table.add("", "", Text(""), "", "", Text(json.dumps(e.details, default=str), style="dim"))


def _add_tool(table: _Timeline, tool: ToolCall, view: WorkLogView, details: bool) -> None:
    ok = tool.status == sc.TOOL_STATUS_SUCCESS
    text = Text(f"{tool.name} ", style="bold")
    text.append(f"{'✓' if ok else '✗'} {tool.status}", style="green" if ok else "bold red")
    text.append(f"  {_ms(tool.duration_ms)}", style="dim")
    if not ok and (tool.error_type or tool.error_message):
        text.append(f"  {tool.error_type or ''}: {tool.error_message or ''}", style="red")
    if details:
        text.append(f"\n  in:  {json.dumps(tool.arguments, default=str)[:400]}", style="dim")
        text.append(f"\n  out: {json.dumps(tool.result, default=str)[:400]}", style="dim")
    table.add("", _offset(tool.start_ns, view.start_ns), _bot(tool.bot), TOOL_ICON, "tool", text, style="cyan")


def _add_handoff(table: _Timeline, item: HandoffItem, step: int | None, view: WorkLogView) -> None:
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
    table.add(
        step if step is not None else "",
        _offset(item.time_ns, view.start_ns),
        _bot(item.from_bot),
        HANDOFF_ICON,
        "handoff",
        text,
        style="blue",
    )


def _add_escalation(table: _Timeline, item: EscalationItem, view: WorkLogView) -> None:
    text = Text("Escalation: ", style="bold red") + Text(item.reason, style="red")
    if item.resolution is not None:
        text.append(f"  ✓ resolved: {item.resolution}", style="green")
    table.add(
        "", _offset(item.time_ns, view.start_ns), _bot(item.bot), ESCALATION_ICON, "escalate", text, style="bold red"
    )


def _alert_text(span: SpanRecord) -> Text:
    attrs = span.attributes
    text = Text(f"{attrs.get(sc.WORKLOG_ALERT_KIND, 'alert')}", style="bold yellow")
    message = attrs.get(sc.WORKLOG_MESSAGE)
    if message:
        text.append(f": {message}")
    recommendation = attrs.get(sc.WORKLOG_ALERT_RECOMMENDATION)
    if recommendation:
        text.append(f"  → {recommendation}", style="dim")
    return text


def _alerts(view: WorkLogView, bot: str | None) -> list[SpanRecord]:
    """The detector alerts of the session (of ``bot`` when the view is one bot's)."""
    return [s for s in view.spans if s.part is ALERT and (bot is None or s.bot_name == bot)]


def _timeline(view: WorkLogView, *, bot: str | None, details: bool) -> _Timeline:
    table = _Timeline()
    # A handoff or an escalation is both a span and an entry; show it once, on the entry's step.
    handoff_steps: dict[tuple[str, int | None], HandoffItem] = {
        (h.from_bot, h.step): h for h in view.handoffs if h.step is not None
    }
    escalation_entries = [e for e in view.entries if e.category == sc.CATEGORY_ESCALATION]
    items: list[tuple[int, int, Any]] = []
    shown_handoffs: dict[str, int | None] = {}
    for e in view.entries:
        matched = handoff_steps.get((e.bot or "", e.step)) if e.level == "handoff" else None
        if matched is not None:
            shown_handoffs[matched.span_id] = e.step
        else:
            items.append((e.time_ns, 0, e))
    items += [(t.start_ns, 1, t) for t in view.tools]
    items += [(h.time_ns, 2, h) for h in view.handoffs]
    items += [(x.time_ns, 3, x) for x in view.escalations if not any(x.reason in e.message for e in escalation_entries)]
    items += [(a.start_ns, 4, a) for a in _alerts(view, bot)]
    items.sort(key=lambda item: (item[0], item[1]))
    for _, kind, item in items:
        if kind == 0:
            _add_entry(table, item, view, details)
        elif kind == 1:
            _add_tool(table, item, view, details)
        elif kind == 2:
            _add_handoff(table, item, shown_handoffs.get(item.span_id, item.step), view)
        elif kind == 3:
            _add_escalation(table, item, view)
        else:
            table.add(
                "",
                _offset(item.start_ns, view.start_ns),
                _bot(item.bot_name),
                ALERT_ICON,
                "alert",
                _alert_text(item),
                style="yellow",
            )
    return table


def _escalation_panels(view: WorkLogView, display: Display) -> list[RenderableType]:
    panels: list[RenderableType] = []
    for x in view.escalations:
        body = Text(x.reason)
        when = display.clock.time(x.time_ns)
        body.append(f"\n\nraised by {x.bot or '?'} → {x.target or 'user'} at {when}", style="dim")
        if x.resolution is not None:
            body.append("\nresolved: ", style="green")
            body.append(x.resolution)
            panels.append(Panel(body, title="✓ Escalation, resolved", border_style="green", expand=False))
        else:
            panels.append(Panel(body, title=f"{ESCALATION_ICON} Escalation, open", border_style="red", expand=False))
    return panels


def _stats(view: WorkLogView, alerts: Sequence[SpanRecord]) -> Text:
    resolved = view.outcome.resolved_escalations
    escalations = plural(len(view.escalations), "escalation") + (f" ({resolved} resolved)" if resolved else "")
    parts = [
        plural(len(view.entries), "entry", "entries"),
        plural(len(view.tools), "tool call"),
        plural(len(view.handoffs), "handoff"),
        escalations,
        plural(len(view.errors), "error"),
        plural(len(alerts), "alert"),
    ]
    return Text(" · ".join(parts))


def _message_table(rows: list[list[object]], columns: list[Column]) -> Fitted:
    return fitted(columns, rows, boxed=False, show_header=False)


def _summary(view: WorkLogView, bot: str | None) -> list[RenderableType]:
    alerts = _alerts(view, bot)
    return [
        _stats(view, alerts),
        *_key_decisions(view.entries),
        *_tool_totals(view.tools),
        *(_handoff_line(h) for h in view.handoffs),
        *_error_lines(view),
        *_alert_lines(alerts),
    ]


def _key_decisions(entries: Sequence[Entry]) -> list[RenderableType]:
    """The entries where the work turned: decisions, doubts, corrections and insights."""
    key = [e for e in entries if e.level in ("decision", "uncertainty", "correction") or e.insight]
    if not key:
        return []
    rows: list[list[object]] = [
        [
            _t(f"Step {e.step}" if e.step is not None else "", "bold"),
            _bot(e.bot),
            Text(f"{entry_icon(e)} ") + Text(e.message),
            _confidence(e.confidence),
        ]
        for e in key
    ]
    columns = [
        Column("", keep=60, whole=True),
        Column("", keep=50, min_width=8),
        Column("", keep=ALWAYS, min_width=20, wrap=True),
        Column("", keep=70, justify="right", whole=True),
    ]
    return [Text("Key decisions", style="italic"), _message_table(rows, columns)]


def _tool_totals(tools: Sequence[ToolCall]) -> list[RenderableType]:
    """Calls, failures and time per tool, in the order the tools were first called."""
    if not tools:
        return []
    totals: dict[str, list[Any]] = {}
    for t in tools:
        row = totals.setdefault(t.name, [0, 0, 0.0])
        row[0] += 1
        row[1] += t.status != sc.TOOL_STATUS_SUCCESS
        row[2] += t.duration_ms
    columns = [
        Column("Tool", keep=ALWAYS, style="bold"),
        Column("Calls", keep=50, justify="right"),
        Column("Failed", keep=40, justify="right"),
        Column("Time", keep=30, justify="right"),
    ]
    rows: list[list[object]] = [
        [name, str(calls), Text(str(failed), style="red" if failed else "dim"), _ms(ms)]
        for name, (calls, failed, ms) in totals.items()
    ]
    return [fitted(columns, rows, title="Tools", boxed=False)]


def _handoff_line(h: HandoffItem) -> Text:
    return (
        Text(f"{HANDOFF_ICON} ")
        + _t(h.from_bot, "yellow")
        + Text(" ──▶ ", "bold blue")
        + _t(h.to_bot, "yellow")
        + Text(f"  {h.reason or ''}")
    )


def _error_lines(view: WorkLogView) -> list[RenderableType]:
    """The error entries bots wrote, then the spans that failed."""
    errors = [e for e in view.entries if e.level == "error"]
    if not errors and not view.errors:
        return []
    lines: list[RenderableType] = [Text("⚠ Errors", style="bold red")]
    lines += [Text(f"  Step {e.step}: ", style="red") + Text(e.message) for e in errors]
    lines += [
        Text(f"  {s.name}: ", style="red") + Text(s.status_message or str(s.attributes.get(sc.ERROR_TYPE, "")))
        for s in view.errors
    ]
    return lines


def _alert_lines(alerts: Sequence[SpanRecord]) -> list[RenderableType]:
    if not alerts:
        return []
    return [
        Text(f"{ALERT_ICON} Alerts", style="bold yellow"),
        *(Text(f"  {ALERT_ICON} ") + _alert_text(a) for a in alerts),
    ]


def _coordination_kind(e: Entry) -> str:
    if e.is_message and e.mentions:
        return "delegate"
    return "escalate" if e.category == sc.CATEGORY_ESCALATION else e.level


def _is_coordination(e: Entry, coordinator: str | None) -> bool:
    """An entry that shows the work being coordinated: a decision, an escalation, the coordinator delegating."""
    return (
        e.level in ("coordination", "decision", "uncertainty")
        or e.category in ("coordination", sc.CATEGORY_ESCALATION)
        or bool(e.is_message and e.mentions and (coordinator is None or e.bot == coordinator))
    )


def _coordination_row(e: Entry) -> list[object]:
    msg = Text(e.message)
    if e.mentions:
        msg.append("  → " + " ".join(e.mentions), style="yellow")
    kind = Text(_coordination_kind(e), style=LEVEL_STYLES.get(e.level, ""))
    return [_t(e.step), _bot(e.bot), kind, msg, _confidence(e.confidence)]


def _coordination(view: WorkLogView) -> list[RenderableType]:
    coordinator = view.coordinator
    chosen = [e for e in view.entries if _is_coordination(e, coordinator)]
    columns = [
        Column("Step", keep=ALWAYS, justify="right"),
        Column("Bot", keep=40, min_width=8, style="yellow"),
        Column("Kind", keep=30, min_width=8),
        Column("Decision / delegation", keep=ALWAYS, min_width=24, wrap=True),
        Column("Conf.", keep=50, justify="right"),
    ]
    title = f"Coordinator decisions ({coordinator or 'no coordinator'})"
    return [
        fitted(columns, [_coordination_row(e) for e in chosen], title=title),
        *_delegations(view, coordinator),
        _coordination_stats(view, chosen),
    ]


def _delegations(view: WorkLogView, coordinator: str | None) -> list[RenderableType]:
    """Who was handed work how often: the coordinator's mentions (any bot's, with none) and the handoffs."""
    delegations = Counter(
        m.lstrip("@")
        for e in view.entries
        if e.is_message and (coordinator is None or e.bot == coordinator)
        for m in e.mentions
    )
    delegations.update(h.to_bot for h in view.handoffs)
    if not delegations:
        return []
    counts = [[_t(bot, "yellow"), str(count)] for bot, count in sorted(delegations.items(), key=lambda kv: -kv[1])]
    columns = [Column("To", keep=ALWAYS), Column("Times", keep=ALWAYS, justify="right")]
    return [fitted(columns, counts, title="Delegations", boxed=False)]


def _coordination_stats(view: WorkLogView, chosen: Sequence[Entry]) -> Text:
    confidences = [e.confidence for e in chosen if e.confidence is not None]
    avg = sum(confidences) / len(confidences) if confidences else None
    stats = Text(f"{plural(len(chosen), 'coordination entry', 'coordination entries')} · ")
    stats.append(plural(len(view.handoffs), "handoff") + " · ")
    stats.append(plural(len(view.escalations), "escalation"), style="bold red" if view.outcome.open_escalations else "")
    stats.append(" · average confidence ")
    stats.append_text(_confidence(avg) if avg is not None else Text("-", style="dim"))
    return stats


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


def render_worklog(
    view: WorkLogView, *, mode: str = "detailed", bot: str | None = None, display: Display | None = None
) -> RenderableType:
    shown = display or Display()
    parts: list[RenderableType] = [_header(view, bot, shown)]
    if mode == "summary":
        parts += _summary(view, bot)
    elif mode == "coordination":
        parts += _coordination(view)
    elif mode == "conversations":
        parts += _conversations(view.entries)
    else:
        parts.append(_timeline(view, bot=bot, details=mode == "debug"))
        if mode == "debug":
            parts.append(_span_table(view.spans, view.start_ns))
    parts += _escalation_panels(view, shown)
    return Group(*parts)


def _span_table(spans: Sequence[SpanRecord], start_ns: int) -> Fitted:
    columns = [
        Column("Span id", keep=25, style="dim", whole=True),
        Column("Parent", keep=20, style="dim", whole=True),
        Column("Name", keep=ALWAYS, min_width=16),
        Column("Bot", keep=40, min_width=7, style="yellow"),
        Column("Start", keep=35, whole=True),
        Column("Duration", keep=45, justify="right", whole=True),
        Column("Status", keep=70, whole=True),
        Column("Attributes", keep=55, min_width=20, style="dim", wrap=True),
    ]
    rows = [
        [
            s.span_id,
            s.parent_span_id or "-",
            _t(s.name),
            _bot(s.bot_name),
            _offset(s.start_ns, start_ns),
            format_duration(s.end_ns - s.start_ns),
            Text(span_status(s), style="red" if s.is_error else ""),
            Text(json.dumps(dict(s.attributes), default=str)[:600]),
        ]
        for s in spans
    ]
    return fitted(columns, rows, title="Spans")


# -- how / escalations --------------------------------------------------------------
def _found(query: str, shown: int, total: int) -> Text:
    if shown < total:
        return Text(
            f"Showing {shown} of {plural(total, 'match', 'matches')} for {query!r}, newest first"
            f" (-n {total} shows them all):",
            style="cyan",
        )
    return Text(f"{plural(total, 'match', 'matches')} for {query!r}, newest first:", style="cyan")


def _hit_title(hit: EntryHit, matched: Entry | None) -> Text:
    head = Text()
    head.append(hit.workspace_id or "-", style="bold cyan")
    if matched is not None and matched.step is not None:
        head.append(f" · step {matched.step}", style="dim")
    head.append(" · ", style="dim")
    head.append(hit.bot_name or "-", style="yellow")
    return head


def _context_row(e: Entry, is_hit: bool) -> list[object]:
    return [
        Text(("▶ " if is_hit else "") + (str(e.step) if e.step is not None else ""), style="bold" if is_hit else "dim"),
        _t(e.bot or "-", "yellow" if is_hit else "dim"),
        Text(f"{entry_icon(e)} ") + Text(e.message, style="bold" if is_hit else "dim"),
        _confidence(e.confidence),
    ]


def _failure_row(hit: EntryHit) -> list[object]:
    text = Text(f"{TOOL_ICON} ") + Text(hit.span_name.removeprefix("execute_tool "), style="bold")
    text.append(" ✗ ", style="bold red")
    text.append(hit.error or "", style="bold red")
    return [Text("▶", style="bold"), _t(hit.bot_name or "-", "yellow"), text, Text("")]


def _hit_rows(hit: EntryHit, context: Sequence[Entry], matched: Entry | None) -> list[list[object]]:
    """The entries around the hit, the hit marked; a failed step goes in among them at its time."""
    if hit.is_error:
        before = [e for e in context if e.time_ns <= hit.event.time_ns]
        after = [e for e in context if e.time_ns > hit.event.time_ns]
        return [
            *(_context_row(e, False) for e in before),
            _failure_row(hit),
            *(_context_row(e, False) for e in after),
        ]
    if not context:
        attrs = hit.event.attributes
        conf = attrs.get(sc.WORKLOG_CONFIDENCE)
        message = Text(str(attrs.get(sc.WORKLOG_MESSAGE, "")), style="bold")
        return [[Text("▶"), _t(hit.bot_name), message, _confidence(conf if isinstance(conf, float) else None)]]
    return [_context_row(e, matched is not None and e is matched) for e in context]


def render_hits(
    query: str,
    hits: Sequence[tuple[EntryHit, list[Entry], Entry | None]],
    total: int | None = None,
    display: Display | None = None,
) -> RenderableType:
    shown = display or Display()
    if not hits:
        searched = "entries, tool errors and exceptions searched"
        return Text(f"No entries found matching {query!r} ({searched})", style="yellow")
    columns = [
        Column("", keep=ALWAYS, justify="right", whole=True),
        Column("", keep=40, min_width=8),
        Column("", keep=ALWAYS, min_width=16, wrap=True),
        Column("", keep=50, justify="right", whole=True),
    ]
    parts: list[RenderableType] = [_found(query, len(hits), max(total or 0, len(hits)))]
    for hit, context, matched in hits:
        rows = _hit_rows(hit, context, matched)
        body = fitted(columns, rows, boxed=False, show_header=False)
        where = Text(f"trace {shown.trace(hit.trace_id)} · {shown.clock.time(hit.event.time_ns)}", style="dim")
        parts.append(
            Panel(body, title=_hit_title(hit, matched), title_align="left", subtitle=where, subtitle_align="right")
        )
    return Group(*parts)


def render_escalations(
    items: Sequence[SpanRecord], resolutions: Mapping[str, str] | None = None, display: Display | None = None
) -> RenderableType:
    if not items:
        return Text("No escalations found.", style="green")
    shown = display or Display()
    resolved = resolutions or {}
    header, times = shown.clock.column("When", [s.start_ns for s in items])
    columns = [
        Column(header, keep=50, min_width=16, style="dim", crop=True),
        Column("Workspace", keep=60, min_width=10, style="cyan"),
        Column("Bot", keep=40, min_width=7, style="yellow"),
        Column("Target", keep=10, whole=True),
        Column("Status", keep=ALWAYS, whole=True),
        Column("Reason", keep=ALWAYS, min_width=20, wrap=True),
        Column("Trace", keep=ALWAYS, style="dim", whole=True),
    ]
    rows = []
    for s, when in zip(items, times, strict=True):
        resolution = resolved.get(s.span_id.lower())
        reason = Text(
            str(s.attributes.get(sc.WORKLOG_ESCALATION_REASON, "")), style="red" if resolution is None else ""
        )
        if resolution is not None:
            reason.append(f"\n→ {resolution}" if resolution else "", style="green")
        rows.append(
            [
                when,
                _t(s.workspace_id or "-"),
                _t(s.bot_name or "-"),
                _t(s.attributes.get(sc.WORKLOG_ESCALATION_TARGET, "user")),
                Text("open", style="bold red") if resolution is None else Text("✓ resolved", style="green"),
                reason,
                shown.trace(s.trace_id),
            ]
        )
    title = f"{ESCALATION_ICON} Escalations (newest first)"
    return fitted(columns, rows, title=title, border_style="red")
