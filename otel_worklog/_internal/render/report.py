"""The weekly report: Markdown, and one self-contained HTML page, with the same sections.

The sections are built once (:func:`sections`) and written out by each format, so the two cannot
drift apart. Every session, escalation and error names its trace and the command that opens it.
Every string that came from a trace (bot names, workspace ids, error messages: model-generated and
untrusted) is escaped for the format it lands in, and loses the control and bidi characters a
terminal or a browser would act on. The HTML has no external resource: its charts are small inline SVGs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Final

from otel_worklog._internal.query.analytics.report import Report, ReportEscalation, ReportSession, day_of
from otel_worklog._internal.render.controls import strip_controls
from otel_worklog._internal.render.units import Clock, days_text, format_durations_alike, format_seconds, plural

__all__ = ["BOT_COLUMNS", "SESSIONS_LISTED", "bar_chart", "md_escape", "sections", "to_html", "to_markdown"]

#: The most sessions the report lists one by one (the rest: ``otel-worklog logs``).
SESSIONS_LISTED: Final = 50
NO_DATA: Final = "-"


# --- what a section holds ------------------------------------------------------------------------
@dataclass(frozen=True)
class Untrusted:
    """Text from a trace: escaped for the format, controls dropped."""

    text: str


@dataclass(frozen=True)
class Code:
    """A command to run, shown as code."""

    text: str


@dataclass(frozen=True)
class Strong:
    """Untrusted text, emphasised."""

    text: str


Fragment = str | Untrusted | Code | Strong
Line = tuple[Fragment, ...]


@dataclass
class Section:
    """A heading, then bullets (each with sub-bullets), a numbered list, a table, in that order."""

    title: str
    bullets: list[tuple[Line, list[Line]]] = field(default_factory=list)
    numbered: list[Line] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[Line]] = field(default_factory=list)
    empty: str = ""
    chart: tuple[str, list[tuple[str, float]], str, float | None] | None = None

    def bullet(self, *line: Fragment, sub: Sequence[Line] = ()) -> None:
        self.bullets.append((line, list(sub)))


def _open(trace_id: str) -> Code:
    return Code(f"otel-worklog explain {trace_id}")


# --- the sections -----------------------------------------------------------------------------------
BOT_COLUMNS: Final = ["Bot", "Sessions", "Success %", "First-shot %", "Avg time", "Avg tokens", "Avg cost"]


def _summary(report: Report) -> Section:
    wf = report.workflows
    section = Section("Summary")
    section.bullet(f"Workflows: {wf.total_workflows}")
    if wf.total_workflows:
        section.bullet(f"Success rate: {wf.success_rate:.1%} ({wf.successful} of {wf.total_workflows})")
        section.bullet(f"Average duration: {format_seconds(wf.avg_duration_s)}")
        section.bullet(f"Average bots per workflow: {wf.avg_bots_per_workflow:.2f}")
    else:
        section.bullet(f"Success rate, duration, bots per workflow: {NO_DATA} (no workflows in the window)")
    if report.metered_workflows:
        section.bullet(f"Tokens: {report.total_tokens:,}; cost: {report.total_cost:.4f}")
    else:
        section.bullet(f"Tokens and cost: {NO_DATA} (no span recorded token usage or a cost)")
    section.bullet(
        f"Failures: {plural(wf.failures.get('unhandled_error', 0), 'unhandled error')}, "
        f"{plural(wf.failures.get('unresolved_escalation', 0), 'unresolved escalation')}"
    )
    if report.alerts:
        section.bullet("Alerts: ", Untrusted(", ".join(f"{k} {v}" for k, v in report.alerts.items())))
    return section


def _per_day(report: Report) -> Section:
    return Section(
        "Workflows per day",
        headers=["Day", "Workflows", "Successful"],
        rows=[[(day,), (str(n),), (str(ok),)] for day, n, ok in report.per_day],
        chart=("Workflows per day", [(day, float(n)) for day, n, _ in report.per_day], "", None),
    )


def _sequences(report: Report) -> Section:
    return Section(
        "Most common bot sequences",
        numbered=[(Untrusted(pattern), f": {count}") for pattern, count in report.workflows.most_common_patterns],
        empty="No workflows.",
    )


def _estimates(report: Report) -> Section | None:
    est = report.workflows.estimates
    if est is None:
        return None
    declared, actual = format_durations_alike([est.avg_estimated_s * 1e9, est.avg_actual_s * 1e9])
    section = Section("Estimate against actual")
    section.bullet(
        f"{plural(est.workflows, 'workflow')} declared an estimate: {declared} estimated, {actual} actual on average"
        f" ({100 * est.avg_ratio:.2g}% of the estimate); {est.over_estimate} took longer than estimated"
    )
    return section


def _overhead(report: Report) -> Section:
    oh = report.overhead
    section = Section("Coordination overhead")
    if oh.coordination_s + oh.tool_s <= 0:
        section.bullet(f"{NO_DATA} (no coordination or tool time recorded in the window)")
        return section
    coordination, tools = format_durations_alike([oh.coordination_s * 1e9, oh.tool_s * 1e9])
    section.bullet(
        f"{oh.coordination_overhead_pct:.1f}% of coordination + tool time ({coordination} coordination,"
        f" {tools} tools; threshold {oh.threshold_pct:g}%)"
    )
    section.bullet(f"Recommendation: {oh.recommendation}")
    return section


def _bots(report: Report) -> Section:
    def usage(value: str, metered: int) -> str:
        return value if metered else NO_DATA

    return Section(
        "Bot comparison",
        headers=BOT_COLUMNS,
        rows=[
            [
                (Untrusted(r.bot),),
                (str(r.sessions),),
                (f"{r.success_pct:.1f}%",),
                (f"{r.first_shot_pct:.1f}%",),
                (format_seconds(r.avg_time_s),),
                (usage(f"{r.avg_tokens:.0f}", r.sessions_with_usage),),
                (usage(f"{r.avg_cost:.4f}", r.sessions_with_usage),),
            ]
            for r in report.bots
        ],
        empty="No bot sessions.",
        chart=("Success % per bot", [(r.bot, round(r.success_pct, 1)) for r in report.bots], "%", 100.0),
    )


def _trends(report: Report) -> Section:
    def rate(value: float, sessions: int) -> str:
        return f"{value:.1%} ({sessions})" if sessions else f"{NO_DATA} (none)"

    return Section(
        "Bot trends",
        headers=["Bot", "Trend", "Recent success", "Earlier success", "Duration change"],
        rows=[
            [
                (Untrusted(t.bot),),
                (t.trend.replace("_", " "),),
                (rate(t.recent_success_rate, t.recent_sessions),),
                (rate(t.historical_success_rate, t.historical_sessions),),
                (f"{t.duration_change_pct:+.1f}%" if t.recent_sessions and t.historical_sessions else NO_DATA,),
            ]
            for t in report.trends
        ],
        empty="No bot sessions.",
    )


def _escalation_row(item: ReportEscalation, clock: Clock) -> list[Line]:
    status: Line = ("open",) if item.is_open else ("resolved: ", Untrusted(item.resolution or ""))
    return [
        (clock.time(item.time_ns),),
        (Untrusted(item.workspace_id or "-"),),
        (Untrusted(item.bot or "-"),),
        status,
        (Untrusted(item.reason),),
        (_open(item.trace_id),),
    ]


def _escalations(report: Report, clock: Clock) -> Section:
    return Section(
        "Escalations",
        headers=["Raised", "Workspace", "Bot", "Status", "Reason", "Open the trace"],
        rows=[_escalation_row(item, clock) for item in report.escalations],
        empty="No escalations.",
    )


def _errors(report: Report, clock: Clock) -> Section:
    section = Section(
        "Top errors",
        empty="No errors.",
        chart=("Occurrences", [(c.fingerprint, float(c.count)) for c in report.errors], "", None),
    )
    for cluster in report.errors:
        sub: list[Line] = [
            ("Sample: ", Untrusted(cluster.sample_message[:200])),
            (f"First: {clock.time(cluster.first_seen_ns)}, last: {clock.time(cluster.last_seen_ns)}",),
        ]
        if cluster.trace_ids:
            sub.append(("Latest: ", _open(cluster.trace_ids[0])))
        section.bullet(
            Strong(cluster.fingerprint),
            f": {plural(cluster.count, 'occurrence')} across {plural(cluster.workflows, 'workflow')}"
            f" ({plural(len(cluster.workspaces), 'workspace')})",
            sub=sub,
        )
    return section


def _session_row(item: ReportSession, clock: Clock) -> list[Line]:
    return [
        (clock.time(item.start_ns),),
        (Untrusted(item.workspace_id or "-"),),
        (item.status,),
        (Untrusted(" → ".join(item.bots) or "-"),),
        (format_seconds(item.duration_s),),
        (_open(item.trace_id),),
    ]


def _sessions(report: Report, clock: Clock) -> Section:
    listed = report.sessions[:SESSIONS_LISTED]
    section = Section(
        "Sessions",
        headers=["Started", "Workspace", "Status", "Bots", "Duration", "Open the trace"],
        rows=[_session_row(item, clock) for item in listed],
        empty="No sessions.",
    )
    more = len(report.sessions) - len(listed)
    if more > 0:
        section.bullet(f"The newest {len(listed)} of {len(report.sessions)}; the others: ", Code("otel-worklog logs"))
    return section


def sections(report: Report) -> list[Section]:
    """The report's sections, in order, the same for every format."""
    clock = Clock(utc=report.utc)
    found = [
        _summary(report),
        _per_day(report),
        _sequences(report),
        _estimates(report),
        _overhead(report),
        _bots(report),
        _trends(report),
        _escalations(report, clock),
        _errors(report, clock),
        _sessions(report, clock),
    ]
    return [section for section in found if section is not None]


def _title(report: Report) -> str:
    days = UTC if report.utc else None  # None: local time
    zone = Clock(utc=report.utc).zone(report.until_ns)
    return (
        f"Weekly work report: {day_of(report.since_ns, days)} to {day_of(report.until_ns, days)}"
        f" ({days_text(report.days)}, times {zone})"
    )


# --- Markdown ------------------------------------------------------------------------------------
_MD_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]()#+!|~-])")


def md_escape(text: object) -> str:
    """``text`` as literal Markdown: HTML characters as entities, other specials backslash-escaped, one line."""
    flat = re.sub(r"[\r\n\t\v\f]+", " ", strip_controls(str(text)))
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


def _md(line: Line) -> str:
    out = []
    for fragment in line:
        if isinstance(fragment, Untrusted):
            out.append(md_escape(fragment.text))
        elif isinstance(fragment, Strong):
            out.append(f"**{md_escape(fragment.text)}**")
        elif isinstance(fragment, Code):
            out.append(f"`{strip_controls(fragment.text).replace('`', '')}`")
        else:
            out.append(fragment)
    return "".join(out)


def _md_section(section: Section) -> list[str]:
    lines = ["", f"## {section.title}", ""]
    for line, sub in section.bullets:
        lines.append(f"- {_md(line)}")
        lines += [f"  - {_md(item)}" for item in sub]
    lines += [f"{i}. {_md(line)}" for i, line in enumerate(section.numbered, 1)]
    if section.rows:
        if section.bullets or section.numbered:
            lines.append("")
        lines += ["| " + " | ".join(section.headers) + " |", "|" + "|".join(" --- " for _ in section.headers) + "|"]
        lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in section.rows]
    if not (section.bullets or section.numbered or section.rows) and section.empty:
        lines.append(section.empty)
    return lines


def to_markdown(report: Report) -> str:
    lines = [f"# {_title(report)}"]
    for section in sections(report):
        lines += _md_section(section)
    return "\n".join(lines) + "\n"


# --- HTML ----------------------------------------------------------------------------------------
def _e(text: object) -> str:
    return html.escape(strip_controls(str(text)), quote=True)


def bar_chart(title: str, items: list[tuple[str, float]], *, unit: str = "", max_value: float | None = None) -> str:
    """A small horizontal bar chart as inline SVG (labels escaped)."""
    row, label_w, bar_w = 22, 180, 260
    top = max_value if max_value is not None else max((value for _, value in items), default=0.0)
    height = row * max(1, len(items)) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label_w + bar_w + 90}" height="{height}"'
        f' viewBox="0 0 {label_w + bar_w + 90} {height}"><title>{_e(title)}</title>',
        f'<text x="0" y="14" class="t">{_e(title)}</text>',
    ]
    for index, (label, value) in enumerate(items):
        y = 24 + index * row
        width = 0.0 if top <= 0 else bar_w * max(0.0, value) / top
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{_e(short)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" class="b"/>')
        parts.append(f'<text x="{label_w + width + 4:.1f}" y="{y + 14}">{value:g}{_e(unit)}</text>')
    if not items:
        parts.append('<text x="0" y="40">no data</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS: Final = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;"
    "vertical-align:top}td:first-child,th:first-child{text-align:left}td.text{text-align:left}"
    "code{font-size:12px;background:#f3f3f3;padding:0 .3em;white-space:nowrap}"
    "svg text{font:12px sans-serif;fill:#333}svg .t{font-weight:bold}svg .b{fill:#4c78a8}"
)


def _html(line: Line) -> str:
    out = []
    for fragment in line:
        if isinstance(fragment, Strong):
            out.append(f"<strong>{_e(fragment.text)}</strong>")
        elif isinstance(fragment, Code):
            out.append(f"<code>{_e(fragment.text)}</code>")
        else:
            out.append(_e(fragment.text if isinstance(fragment, Untrusted) else fragment))
    return "".join(out)


def _html_cell(line: Line, index: int) -> str:
    """A cell; text (not a figure) is left-aligned like the first column."""
    text = index > 0 and any(isinstance(f, Untrusted | Code) for f in line)
    return f'<td class="text">{_html(line)}</td>' if text else f"<td>{_html(line)}</td>"


def _html_section(section: Section) -> str:
    parts = [f'<section id="{_e(section.title.lower().replace(" ", "-"))}"><h2>{_e(section.title)}</h2>']
    if section.chart is not None:
        title, items, unit, top = section.chart
        parts.append(bar_chart(title, items, unit=unit, max_value=top))
    if section.bullets:
        parts.append("<ul>")
        for line, sub in section.bullets:
            inner = "<ul>" + "".join(f"<li>{_html(item)}</li>" for item in sub) + "</ul>" if sub else ""
            parts.append(f"<li>{_html(line)}{inner}</li>")
        parts.append("</ul>")
    if section.numbered:
        parts.append("<ol>" + "".join(f"<li>{_html(line)}</li>" for line in section.numbered) + "</ol>")
    if section.rows:
        head = "".join(f"<th>{_e(h)}</th>" for h in section.headers)
        body = "".join(
            "<tr>" + "".join(_html_cell(cell, i) for i, cell in enumerate(row)) + "</tr>" for row in section.rows
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    if not (section.bullets or section.numbered or section.rows) and section.empty:
        parts.append(f"<p>{_e(section.empty)}</p>")
    parts.append("</section>")
    return "".join(parts)


def to_html(report: Report) -> str:
    title = _title(report)
    body = "\n".join([f"<h1>{_e(title)}</h1>", *(_html_section(section) for section in sections(report))])
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )
