"""One self-contained HTML page per trace: a waterfall with a lane per bot.

The page needs no network: styles are inline, the picture is inline SVG and it
carries no script at all. A Content-Security-Policy forbids scripts and remote
loads as a second line of defence. Every string that comes from the trace goes
through :func:`html.escape`, because work-log text is written by models and is
untrusted.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.query.worklog import build_worklog
from otel_worklog._internal.render.data import iso

__all__ = ["render_html"]

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac", "#ff9da7")
_NO_BOT = "(workspace)"
_LEFT = 320
_WIDTH = 880
_ROW = 26
_LANE_HEAD = 24
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 4px} .meta{color:#555;font-size:13px;margin:2px 0}
.status-escalated{color:#c00;font-weight:bold} .status-error{color:#c00} .status-ok{color:#2a7}
.escalation-banner{border:2px solid #c00;background:#fff0f0;padding:8px 12px;margin:12px 0;border-radius:6px}
.escalation-banner h2{color:#c00;font-size:16px;margin:0 0 6px}
svg{background:#fff;border:1px solid #ddd;border-radius:6px}
svg text{font-size:12px;font-family:inherit} .lane-title{font-weight:bold;font-size:13px}
.span rect.bar{opacity:.9} .span.error rect.bar{stroke:#c00;stroke-width:2}
.span.escalation rect.bar{fill:#d00 !important;stroke:#700;stroke-width:2}
.span.escalation text.label{fill:#c00;font-weight:bold}
.handoff-link{fill:none;stroke:#1f5fbf;stroke-width:2;stroke-dasharray:5 3}
.conf{font-size:10px} .conf-high{fill:#2a7} .conf-mid{fill:#b80} .conf-low{fill:#c00;font-weight:bold}
table{border-collapse:collapse;font-size:13px;margin:4px 0 12px} td,th{border-bottom:1px solid #eee;padding:3px 8px;
text-align:left;vertical-align:top} .msg{white-space:pre-wrap;max-width:720px}
.badge{border-radius:4px;padding:0 5px;font-size:12px} .b-high{background:#dfd} .b-mid{background:#ffd}
.b-low{background:#fdd;color:#900;font-weight:bold} .lvl-error,.lvl-warning{color:#c00} .lvl-decision{color:#06c}
details{background:#fff;border:1px solid #e4e4e4;border-radius:6px;margin:6px 0;padding:4px 10px}
summary{cursor:pointer;font-weight:600} .legend span{display:inline-block;margin-right:12px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _conf_class(confidence: float) -> str:
    if confidence >= 0.85:
        return "high"
    if confidence >= 0.7:
        return "mid"
    return "low"


def _error_text(span: SpanRecord) -> str:
    kind = str(span.attributes.get(sc.ERROR_TYPE, ""))
    message = span.status_message
    return message if kind and message.startswith(kind) else f"{kind} {message}".strip()


def _lane_of(span: SpanRecord) -> str:
    return span.bot_name or _NO_BOT


def render_html(spans: Sequence[SpanRecord], *, title: str | None = None) -> str:
    """The page for one trace (``spans`` all share one trace id)."""
    view = build_worklog(spans)
    t0 = view.start_ns
    total = max(1, view.end_ns - t0)

    def x_of(time_ns: int) -> float:
        return _LEFT + (max(0, time_ns - t0) / total) * _WIDTH

    lanes: dict[str, list[SpanRecord]] = {}
    for span in view.spans:
        lanes.setdefault(_lane_of(span), []).append(span)
    colors = {lane: _PALETTE[i % len(_PALETTE)] for i, lane in enumerate(lanes)}

    svg: list[str] = []
    positions: dict[str, tuple[float, float, float]] = {}  # span id -> (x start, x end, y centre)
    y = 30
    for lane, members in lanes.items():
        height = _LANE_HEAD + _ROW * len(members)
        svg.append(f'<g class="lane" data-bot="{_e(lane)}">')
        svg.append(
            f'<rect class="lane-bg" x="0" y="{y}" width="{_LEFT + _WIDTH + 40}" height="{height}" '
            f'fill="{colors[lane]}" fill-opacity="0.07"/>'
        )
        svg.append(f'<text class="lane-title" x="8" y="{y + 16}" fill="{colors[lane]}">{_e(lane)}</text>')
        row_y = y + _LANE_HEAD
        for span in members:
            x1 = x_of(span.start_ns)
            x2 = max(x1 + (8 if span.is_escalation else 3), x_of(span.end_ns))  # instant spans stay visible
            cy = row_y + _ROW / 2
            positions[span.span_id] = (x1, x2, cy)
            classes = ["span"]
            if span.is_escalation:
                classes.append("escalation")
            if span.is_error:
                classes.append("error")
            name = span.name if len(span.name) <= 44 else span.name[:43] + "…"
            tip = f"{span.name} · {span.duration_ms:.1f} ms · {span.status_code}"
            if span.is_escalation:
                tip += " · ESCALATION: " + str(span.attributes.get(sc.WORKLOG_ESCALATION_REASON, ""))
            svg.append(
                f'<g class="{" ".join(classes)}" id="span-{_e(span.span_id)}" data-span-id="{_e(span.span_id)}">'
            )
            svg.append(f"<title>{_e(tip)}</title>")
            svg.append(f'<text class="label" x="22" y="{cy + 4}">{_e(name)}</text>')
            svg.append(
                f'<rect class="bar" x="{x1:.1f}" y="{row_y + 5}" width="{x2 - x1:.1f}" height="{_ROW - 10}" '
                f'rx="3" fill="{colors[lane]}"/>'
            )
            for event in span.events:
                ex = x_of(event.time_ns)
                level = event.attributes.get(sc.WORKLOG_LEVEL, event.name)
                msg = event.attributes.get(sc.WORKLOG_MESSAGE, event.attributes.get("exception.message", ""))
                color = "#c00" if level in ("error", "warning", "uncertainty") or event.name == "exception" else "#222"
                svg.append(
                    f'<circle class="event level-{_e(level)}" cx="{ex:.1f}" cy="{cy}" r="4" fill="{color}" '
                    f'stroke="#fff"><title>{_e(f"{level}: {msg}")}</title></circle>'
                )
                confidence = event.attributes.get(sc.WORKLOG_CONFIDENCE)
                if isinstance(confidence, int | float) and not isinstance(confidence, bool):
                    svg.append(
                        f'<text class="conf conf-{_conf_class(float(confidence))}" x="{ex + 5:.1f}" y="{row_y + 6}">'
                        f"{float(confidence):.0%}</text>"
                    )
            svg.append("</g>")
            row_y += _ROW
        svg.append("</g>")
        y += height + 6
    links: list[str] = []
    for h in view.handoffs:
        source = positions.get(h.span_id)
        for bot, receiver_id in h.receivers:
            target = positions.get(receiver_id)
            if source is None or target is None:
                continue
            sx, sy = source[1], source[2]
            tx, ty = target[0], target[2]
            bend = max(40.0, abs(tx - sx) / 2)
            tip = f"handoff {h.from_bot} -> {h.to_bot}: {h.reason or ''}"
            links.append(
                f'<path class="handoff-link" data-from="{_e(h.from_bot)}" data-to="{_e(bot or h.to_bot)}" '
                f'd="M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {tx - bend:.1f},{ty:.1f} {tx:.1f},{ty:.1f}" '
                f'marker-end="url(#arrow)"><title>{_e(tip)}</title></path>'
            )
    height = y + 10
    axis = []
    for i in range(5):
        ax = _LEFT + _WIDTH * i / 4
        axis.append(
            f'<line x1="{ax:.1f}" y1="22" x2="{ax:.1f}" y2="{height}" stroke="#eee"/>'
            f'<text x="{ax + 2:.1f}" y="16" fill="#888">+{total * i / 4 / 1e9:.3f}s</text>'
        )
    picture = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_LEFT + _WIDTH + 60}" height="{height}" '
        f'role="img" aria-label="waterfall">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1f5fbf"/></marker></defs>'
        + "".join(axis)
        + "".join(svg)
        + "".join(links)
        + "</svg>"
    )

    banner = ""
    if view.escalations:
        items = "".join(
            f'<li class="escalation-item"><b>{_e(x.bot or "?")}</b> → {_e(x.target or "user")}: '
            f'<span class="msg">{_e(x.reason)}</span>'
            + (f" <i>(resolved: {_e(x.resolution)})</i>" if x.resolution is not None else "")
            + "</li>"
            for x in view.escalations
        )
        banner = f'<section class="escalation-banner" id="escalations"><h2>Escalations</h2><ul>{items}</ul></section>'
    errors = ""
    if view.errors:
        errors = (
            '<section class="errors"><h2>Errors</h2><ul>'
            + "".join(
                f'<li class="error-item"><b>{_e(s.name)}</b> ({_e(s.bot_name or "-")}): {_e(_error_text(s))}</li>'
                for s in view.errors
            )
            + "</ul></section>"
        )
    legend = (
        '<div class="legend">'
        + "".join(f'<span><i style="background:{colors[lane]}"></i>{_e(lane)}</span>' for lane in lanes)
        + "</div>"
    )

    blocks: list[str] = []
    for span in view.spans:
        if not span.events and not span.is_escalation and not span.links:
            continue
        rows = []
        for event in span.events:
            a = event.attributes
            level = a.get(sc.WORKLOG_LEVEL, event.name)
            conf = a.get(sc.WORKLOG_CONFIDENCE)
            badge = ""
            if isinstance(conf, int | float) and not isinstance(conf, bool):
                badge = f'<span class="badge b-{_conf_class(float(conf))}">{float(conf):.0%}</span>'
            message = a.get(sc.WORKLOG_MESSAGE, a.get("exception.message", ""))
            extra = {k: v for k, v in a.items() if k.startswith(sc.WORKLOG_DETAILS_PREFIX) or k == sc.WORKLOG_MENTIONS}
            rows.append(
                f"<tr><td>+{(event.time_ns - t0) / 1e9:.3f}s</td><td>{_e(a.get(sc.WORKLOG_STEP, ''))}</td>"
                f'<td class="lvl-{_e(level)}">{_e(level)}</td><td class="msg">{_e(message)}</td><td>{badge}</td>'
                f'<td class="msg">{_e(json.dumps(extra, default=str) if extra else "")}</td></tr>'
            )
        for link in span.links:
            rows.append(
                f'<tr><td colspan="3">link ({_e(link.attributes.get(sc.WORKLOG_LINK_TYPE, ""))})</td>'
                f'<td colspan="3"><a href="#span-{_e(link.span_id)}">{_e(link.span_id)}</a></td></tr>'
            )
        blocks.append(
            f'<details open class="span-events" data-span-id="{_e(span.span_id)}"><summary>{_e(span.name)} '
            f"<small>({_e(span.bot_name or _NO_BOT)})</small></summary><table><tr><th>Time</th><th>Step</th>"
            f"<th>Level</th><th>Message</th><th>Confidence</th><th>Details</th></tr>{''.join(rows)}</table></details>"
        )

    heading = title or f"Work log · {view.workspace_id or view.trace_id}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{_e(heading)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_e(heading)}</h1>"
        f'<p class="meta">Workspace <b>{_e(view.workspace_id or "-")}</b> ({_e(view.workspace_type or "-")}) · '
        f"bots: {_e(', '.join(view.bots) or '-')} · started {_e(iso(view.start_ns))} · "
        f"{view.duration_ms:.0f} ms · status "
        f'<span class="status-{_e(view.status)}">{_e(view.status)}</span></p>'
        + (f'<p class="meta">Query: {_e(view.query)}</p>' if view.query else "")
        + f'<p class="meta">Trace <code>{_e(view.trace_id)}</code></p>'
        + banner
        + errors
        + legend
        + picture
        + "<h2>Events</h2>"
        + "".join(blocks)
        + "</body></html>\n"
    )
