"""One self-contained HTML page per trace: the span tree beside a waterfall with a lane per bot.

The page needs no network and carries no script at all: styles are inline, the picture is
inline SVG, and ``<details>`` does every collapsing. A Content-Security-Policy forbids scripts
and remote loads as a second line of defence. Every string that comes from the trace goes
through :func:`html.escape`, because work-log text and tool arguments are written by models
and are untrusted.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import EventRecord, SpanRecord
from otel_worklog._internal.query.worklog import Entry, WorkLogView, build_worklog, parse_json_value
from otel_worklog._internal.render.units import Clock, format_duration, span_status
from otel_worklog._internal.render.waterfall import NO_BOT, Axis, Waterfall, confidence_class, event_confidence
from otel_worklog._internal.span_kinds import Kind, classify
from otel_worklog._internal.status import STATUS_MEANINGS

__all__ = ["render_html"]

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
#: Attributes shown on their own in a tool's node, as formatted JSON.
_TOOL_PAYLOADS = ((sc.GEN_AI_TOOL_CALL_ARGUMENTS, "Arguments"), (sc.GEN_AI_TOOL_CALL_RESULT, "Result"))

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:20px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:16px 0 6px} .meta{color:#555;font-size:13px;margin:2px 0}
.status-escalated{color:#c00;font-weight:bold} .status-error{color:#c00;font-weight:bold}
.status-recovered{color:#b60} .status-ok{color:#2a7}
.box{border:1px solid #ddd;background:#fff;padding:6px 12px;margin:10px 0;border-radius:6px}
.box h2{margin:2px 0 6px} .box h2 small{font-weight:normal;color:#555}
.escalation-banner{border:2px solid #c00;background:#fff0f0} .escalation-banner h2{color:#c00}
.escalation-banner.all-resolved{border-color:#9b9;background:#f4fbf4} .escalation-banner.all-resolved h2{color:#363}
.errors{border-color:#e99} .alerts{border-color:#db8;background:#fffaf0}
.esc-open{color:#c00;font-weight:bold} .esc-resolved{color:#273;font-weight:bold}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px} td,th{border-bottom:1px solid #eee;padding:3px 8px;
text-align:left;vertical-align:top} .msg{white-space:pre-wrap;overflow-wrap:anywhere;max-width:720px}
.badge{border-radius:4px;padding:0 5px;font-size:12px} .b-high{background:#dfd} .b-mid{background:#ffd}
.b-low{background:#fdd;color:#900;font-weight:bold} .lvl-error,.lvl-warning{color:#c00} .lvl-decision{color:#06c}
.layout{display:grid;grid-template-columns:minmax(340px,2fr) 3fr;gap:16px;align-items:start}
@media (max-width:1100px){.layout{grid-template-columns:1fr}}
.lanes{position:sticky;top:8px;max-height:calc(100vh - 16px);overflow:auto}
.waterfall{max-width:100%;height:auto;background:#fff;border:1px solid #ddd;
border-radius:6px} .legend span{display:inline-block;margin-right:12px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
svg text{font-size:12px;font-family:inherit} .lane-title{font-weight:bold;font-size:13px}
.lane-bg{fill-opacity:.07} .tick{stroke:#eee} .tick-label{fill:#777;font-size:11px}
.span rect.bar{opacity:.9} .span.error rect.bar{stroke:#c00;stroke-width:2}
.span.escalation rect.bar{fill:#d00;stroke:#700;stroke-width:2} .span.escalation text.label{fill:#c00;font-weight:bold}
.handoff-link{fill:none;stroke:#1f5fbf;stroke-width:2;stroke-dasharray:5 3} .handoff-marker{fill:#1f5fbf}
.conf{font-size:10px} .conf-high{fill:#2a7} .conf-mid{fill:#b80} .conf-low{fill:#c00;font-weight:bold}
.tree{font-size:13px} .tree details{margin:2px 0 2px 14px;border-left:1px solid #ddd;padding-left:6px}
.tree>details{margin-left:0} .tree summary{cursor:pointer;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.kind{display:inline-block;min-width:64px;font-size:11px;color:#fff;border-radius:3px;padding:0 4px;
text-align:center} .k-workspace{background:#555} .k-bot{background:#4e79a7} .k-tool{background:#59a14f}
.k-handoff{background:#1f5fbf} .k-escalation{background:#c00} .k-alert{background:#b60} .k-llm{background:#b07aa1}
.k-other{background:#999} .who{color:#555} .dur{color:#555;font-variant-numeric:tabular-nums}
.sstat{font-size:11px;border-radius:3px;padding:0 4px} .sstat-OK{background:#e3f4e3;color:#263}
.sstat-ERROR{background:#fdd;color:#900;font-weight:bold}
.tl{display:block;position:relative;height:4px;background:#f0f0f0;margin:2px 0 0 0}
.tl i{position:absolute;top:0;height:4px;min-width:2px;background:#4e79a7}
.node-body{margin:2px 0 4px 4px} .node-body pre{background:#f6f6f6;border:1px solid #eee;padding:4px 6px;margin:2px 0;
white-space:pre-wrap;overflow-wrap:anywhere;max-height:240px;overflow:auto;font-size:12px}
.node-body .sub{margin-left:0;border-left:none;padding-left:0} .node-body .sub summary{font-weight:normal;color:#333}
.attrs td:first-child{color:#555} td:first-child{white-space:nowrap} .err-text{color:#900}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _text(value: Any) -> str:
    """An attribute value as a person reads it: lists and JSON strings as formatted JSON."""
    parsed = parse_json_value(value) if isinstance(value, str) and value[:1] in "[{" else value
    if isinstance(parsed, dict | list | tuple):
        return json.dumps(parsed, indent=2, ensure_ascii=False, default=str)
    return str(parsed)


def render_html(spans: Sequence[SpanRecord], *, title: str | None = None, clock: Clock | None = None) -> str:
    """The page for one trace (``spans`` all share one trace id); times follow ``clock`` (local by default)."""
    view = build_worklog(spans)
    axis = Axis.of(view.start_ns, view.end_ns)
    waterfall = Waterfall(view.spans, view.handoffs, axis)
    heading = title or f"Work log · {view.workspace_id or view.trace_id}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head><body>"
        + _header(view, heading, clock or Clock())
        + _escalations(view, axis)
        + _errors(view, axis)
        + _alerts(view, axis)
        + '<div class="layout"><nav class="tree" aria-label="span tree"><h2>Spans</h2>'
        + "".join(_tree(view.spans, axis))
        + '</nav><div class="lanes"><h2>Timeline</h2>'
        + _legend(waterfall)
        + waterfall.svg()
        + "</div></div>"
        + _worklog(view.entries, axis)
        + "</body></html>\n"
    )


def _header(view: WorkLogView, heading: str, clock: Clock) -> str:
    status = view.status
    moment = clock.moment(view.start_ns).isoformat(timespec="milliseconds")
    started = f'<time datetime="{_e(moment)}">{_e(clock.time(view.start_ns))}</time>'
    return (
        f"<header><h1>{_e(heading)}</h1>"
        f'<p class="meta">Workspace <b>{_e(view.workspace_id or "-")}</b> ({_e(view.workspace_type or "-")}) · '
        f"bots: {_e(', '.join(view.bots) or '-')} · started {started} · "
        f"{_e(format_duration(view.end_ns - view.start_ns))} · status "
        f'<span class="status-{_e(status)}" title="{_e(STATUS_MEANINGS.get(status, ""))}">{_e(status)}</span></p>'
        + (f'<p class="meta">Query: {_e(view.query)}</p>' if view.query else "")
        + f'<p class="meta">Trace <code>{_e(view.trace_id)}</code></p></header>'
    )


def _table(head: Sequence[str], rows: Sequence[str]) -> str:
    return "<table><tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>"


def _escalations(view: WorkLogView, axis: Axis) -> str:
    if not view.escalations:
        return ""
    rows = []
    for item in view.escalations:
        if item.resolution is None:
            state, css = '<b class="esc-open">open</b>: waits for a human', "open"
        else:
            state, css = f'<b class="esc-resolved">resolved</b>: {_e(item.resolution or "-")}', "resolved"
        rows.append(
            f'<tr class="escalation-item {css}" data-span-id="{_e(item.span_id)}"><td>{_e(axis.offset(item.time_ns))}'
            f"</td><td>{_e(item.bot or '-')}</td><td>{_e(item.target or 'user')}</td>"
            f'<td class="msg">{_e(item.reason)}</td><td class="msg">{state}</td></tr>'
        )
    open_count = sum(1 for item in view.escalations if item.resolution is None)
    resolved = len(view.escalations) - open_count
    css = "" if open_count else " all-resolved"
    return (
        f'<section class="box escalation-banner{css}" id="escalations"><h2>Escalations '
        f"<small>{open_count} open · {resolved} resolved</small></h2>"
        + _table(("When", "Raised by", "To", "Reason", "State"), rows)
        + "</section>"
    )


def _error_text(span: SpanRecord) -> str:
    kind = str(span.attributes.get(sc.ERROR_TYPE, ""))
    message = span.status_message
    return message if kind and message.startswith(kind) else f"{kind} {message}".strip()


def _errors(view: WorkLogView, axis: Axis) -> str:
    if not view.errors:
        return ""
    rows = [
        f'<tr class="error-item"><td>{_e(axis.offset(span.start_ns))}</td><td><a href="#node-{_e(span.span_id)}">'
        f'{_e(span.name)}</a></td><td>{_e(span.bot_name or "-")}</td><td class="msg">{_e(_error_text(span))}</td></tr>'
        for span in view.errors
    ]
    return (
        '<section class="box errors" id="errors"><h2>Errors</h2>'
        + _table(("When", "Span", "Bot", "Error"), rows)
        + "</section>"
    )


def _alerts(view: WorkLogView, axis: Axis) -> str:
    alerts = [span for span in view.spans if classify(span.name, span.attributes) is Kind.ALERT]
    if not alerts:
        return ""
    rows = []
    for span in alerts:
        attrs = span.attributes
        rows.append(
            f'<tr class="alert-item"><td>{_e(axis.offset(span.start_ns))}</td>'
            f"<td>{_e(attrs.get(sc.WORKLOG_ALERT_KIND))}</td><td>{_e(span.bot_name or '-')}</td>"
            f'<td class="msg">{_e(attrs.get(sc.WORKLOG_MESSAGE, ""))}</td>'
            f"<td>{_e(attrs.get(sc.WORKLOG_ALERT_RECOMMENDATION, '-'))}</td>"
            f'<td class="msg">{_e(attrs.get(sc.WORKLOG_ALERT_EVIDENCE, ""))}</td></tr>'
        )
    return (
        '<section class="box alerts" id="alerts"><h2>Alerts</h2>'
        + _table(("When", "Alert", "Bot", "What was seen", "Recommendation", "Evidence"), rows)
        + "</section>"
    )


def _legend(waterfall: Waterfall) -> str:
    return (
        '<div class="legend">'
        + "".join(
            f'<span><i style="background:{color}"></i>{_e(lane)}</span>' for lane, color in waterfall.colors.items()
        )
        + "</div>"
    )


# --- The span tree ------------------------------------------------------------------------------------------------


def _children(spans: Sequence[SpanRecord]) -> dict[str | None, list[SpanRecord]]:
    """Each span's children, oldest first; a span whose parent is not in the trace is a root (under None)."""
    ids = {span.span_id for span in spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in sorted(spans, key=lambda s: (s.start_ns, s.span_id)):
        parent = span.parent_span_id if span.parent_span_id in ids and span.parent_span_id != span.span_id else None
        children.setdefault(parent, []).append(span)
    return children


def _tree(spans: Sequence[SpanRecord], axis: Axis) -> Iterator[str]:
    """Nested ``<details>``, one per span, roots oldest first."""
    children = _children(spans)
    seen: set[str] = set()
    for root in [*children.get(None, []), *spans]:  # then any span that a broken parent cycle hides from the roots
        if root.span_id not in seen:
            yield from _subtree(root, children, seen, axis)


def _subtree(
    root: SpanRecord, children: Mapping[str | None, list[SpanRecord]], seen: set[str], axis: Axis
) -> Iterator[str]:
    """``root`` and everything under it, built without recursion so that any depth renders."""
    stack: list[SpanRecord | None] = [root]
    while stack:
        span = stack.pop()
        if span is None:
            yield "</div></details>"
        elif span.span_id not in seen:  # a span id repeated in a broken trace is drawn once
            seen.add(span.span_id)
            yield _node(span, axis)
            stack.append(None)
            stack.extend(reversed(children.get(span.span_id, [])))


def _node(span: SpanRecord, axis: Axis) -> str:
    """A span's ``<details>`` up to its children: the summary line, its payloads, attributes, events and links."""
    kind = classify(span.name, span.attributes)
    status = span_status(span)
    left = axis.percent(span.start_ns)
    width = max(0.0, axis.percent(span.end_ns) - left)
    summary = (
        f'<summary><span class="kind k-{kind.value}">{_e(kind.value)}</span> '
        f'<span class="sstat sstat-{status}">{status}</span> <b class="name">{_e(span.name)}</b> '
        + (f'<span class="who">@{_e(span.bot_name)}</span> ' if span.bot_name else "")
        + f'<span class="dur">{_e(format_duration(span.end_ns - span.start_ns))}</span>'
        f'<span class="tl"><i style="left:{left:.2f}%;width:{width:.2f}%"></i></span></summary>'
    )
    return (
        f'<details open class="node node-{kind.value}" id="node-{_e(span.span_id)}" data-span-id="{_e(span.span_id)}">'
        + summary
        + '<div class="node-body">'
        + _failure(span)
        + _payloads(span, kind)
        + _attributes(span.attributes)
        + _events(span.events, axis)
        + _links(span)
    )


def _failure(span: SpanRecord) -> str:
    return f'<div class="err-text">{_e(_error_text(span))}</div>' if span.is_error else ""


def _payloads(span: SpanRecord, kind: Kind) -> str:
    if kind is not Kind.TOOL:
        return ""
    parts = []
    for key, label in _TOOL_PAYLOADS:
        if key in span.attributes:
            parts.append(
                f'<div class="payload {key.rsplit(".", 1)[-1]}">{label}'
                f"<pre>{_e(_text(span.attributes[key]))}</pre></div>"
            )
    return "".join(parts)


def _attributes(attributes: Mapping[str, Any]) -> str:
    if not attributes:
        return ""
    rows = "".join(
        f'<tr><td>{_e(key)}</td><td class="msg">{_e(_text(attributes[key]))}</td></tr>' for key in sorted(attributes)
    )
    return (
        f'<details class="sub attributes"><summary>Attributes ({len(attributes)})</summary>'
        f'<table class="attrs">{rows}</table></details>'
    )


def _events(events: Sequence[EventRecord], axis: Axis) -> str:
    if not events:
        return ""
    rows = []
    for event in events:
        attrs = event.attributes
        level = attrs.get(sc.WORKLOG_LEVEL, event.name)
        message = attrs.get(sc.WORKLOG_MESSAGE, attrs.get("exception.message", ""))
        rows.append(
            f'<tr><td>{_e(axis.offset(event.time_ns))}</td><td class="lvl-{_e(level)}">{_e(level)}</td>'
            f'<td class="msg">{_e(message)}</td><td>{_badge(event_confidence(event))}</td></tr>'
        )
    return (
        f'<details class="sub events"><summary>Events ({len(events)})</summary>'
        + _table(("When", "Level", "Message", "Confidence"), rows)
        + "</details>"
    )


def _links(span: SpanRecord) -> str:
    return "".join(
        f'<div class="link">linked ({_e(link.attributes.get(sc.WORKLOG_LINK_TYPE, "link"))}) from '
        f'<a href="#node-{_e(link.span_id)}">{_e(link.span_id)}</a></div>'
        for link in span.links
    )


def _badge(confidence: float | None) -> str:
    if confidence is None:
        return ""
    return f'<span class="badge b-{confidence_class(confidence)}">{confidence:.0%}</span>'


# --- The work log -------------------------------------------------------------------------------------------------


def _worklog(entries: Sequence[Entry], axis: Axis) -> str:
    """Every entry of the session in order, as ``explain --mode detailed`` lists them."""
    if not entries:
        return ""
    rows = []
    for entry in entries:
        details = json.dumps(entry.details, ensure_ascii=False, default=str) if entry.details else ""
        reply = f" ↩ step {entry.response_to}" if entry.response_to is not None else ""
        rows.append(
            f'<tr class="entry"><td>{_e(axis.offset(entry.time_ns))}</td>'
            f"<td>{_e(entry.step if entry.step is not None else '')}</td><td>{_e(entry.bot or NO_BOT)}</td>"
            f'<td class="lvl-{_e(entry.level)}">{_e(entry.level)}</td>'
            f'<td class="msg">{_e(entry.message)}<small>{_e(reply)}</small></td><td>{_badge(entry.confidence)}</td>'
            f'<td class="msg">{_e(details)}</td></tr>'
        )
    return (
        '<section class="worklog" id="worklog"><h2>Work log</h2>'
        + _table(("When", "Step", "Bot", "Level", "Message", "Confidence", "Details"), rows)
        + "</section>"
    )
