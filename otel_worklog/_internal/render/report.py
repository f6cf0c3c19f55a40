"""The weekly report (seed 004 ``--weekly-report``): Markdown, and one self-contained HTML page.

Every string that came from a trace (bot names, workspace ids, error messages: model-generated and
untrusted) is escaped for the format it lands in. The HTML has no external resource: its charts are
small inline SVGs.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Final

from otel_worklog._internal.query.analytics.report import Report, day_of


def fmt_seconds(seconds: float) -> str:
    """A duration a person reads at a glance: 12.5ms, 42.0s, 7.5min."""
    if seconds < 1:
        return f"{seconds * 1000:.1f}ms"
    if seconds < 120:
        return f"{seconds:.1f}s"
    return f"{seconds / 60:.1f}min"


def utc_time(time_ns: int) -> str:
    """A timestamp in UTC, to the second, as reports and tables show it."""
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


# --- Markdown ------------------------------------------------------------------------------------
_MD_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]()#+!|~-])")


def md_escape(text: object) -> str:
    """``text`` as literal Markdown: HTML characters as entities, other specials backslash-escaped, one line."""
    flat = re.sub(r"[\r\n\t\v\f]+", " ", str(text))
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", flat)


BOT_COLUMNS: Final = ["Bot", "Sessions", "Success %", "First-shot %", "Avg time", "Avg tokens", "Avg cost"]


def _bot_rows(report: Report) -> list[list[str]]:
    """The bot-comparison rows, unescaped; each renderer escapes for its own format."""
    return [
        [
            r.bot,
            str(r.sessions),
            f"{r.success_pct:.1f}%",
            f"{r.first_shot_pct:.1f}%",
            fmt_seconds(r.avg_time_s),
            f"{r.avg_tokens:.0f}",
            f"{r.avg_cost:.4f}",
        ]
        for r in report.bots
    ]


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def to_markdown(report: Report) -> str:
    wf = report.workflows
    lines = [
        f"# Weekly work report: {day_of(report.since_ns)} to {day_of(report.until_ns)} ({report.days:g} days)",
        "",
        "## Summary",
        "",
        f"- Workflows: {wf.total_workflows}",
        f"- Success rate: {wf.success_rate:.1%} ({wf.successful} of {wf.total_workflows})",
        f"- Average duration: {fmt_seconds(wf.avg_duration_s)}",
        f"- Average bots per workflow: {wf.avg_bots_per_workflow:.2f}",
        f"- Tokens: {report.total_tokens:,}; cost: {report.total_cost:.4f}",
        f"- Failures: {wf.failures.get('unhandled_error', 0)} unhandled errors, "
        f"{wf.failures.get('unresolved_escalation', 0)} unresolved escalations",
    ]
    if report.alerts:
        lines.append("- Alerts: " + ", ".join(f"{md_escape(k)} {v}" for k, v in report.alerts.items()))
    lines += ["", "## Workflows per day", ""]
    lines += _md_table(["Day", "Workflows", "Successful"], [[d, str(n), str(ok)] for d, n, ok in report.per_day])
    lines += ["", "## Most common bot sequences", ""]
    if wf.most_common_patterns:
        lines += [f"{i}. {md_escape(p)}: {n}" for i, (p, n) in enumerate(wf.most_common_patterns, 1)]
    else:
        lines.append("No workflows.")
    if wf.estimates is not None:
        est = wf.estimates
        lines += [
            "",
            "## Estimate against actual",
            "",
            f"- {est.workflows} workflows declared an estimate: {fmt_seconds(est.avg_estimated_s)} estimated, "
            f"{fmt_seconds(est.avg_actual_s)} actual on average (actual/estimate {est.avg_ratio:.2f}); "
            f"{est.over_estimate} took longer than estimated",
        ]
    oh = report.overhead
    lines += [
        "",
        "## Coordination overhead",
        "",
        f"- {oh.coordination_overhead_pct:.1f}% of coordination + tool time "
        f"({fmt_seconds(oh.coordination_s)} coordination, {fmt_seconds(oh.tool_s)} tools;"
        f" threshold {oh.threshold_pct:g}%)",
        f"- Recommendation: {oh.recommendation}",
        "",
        "## Bot comparison",
        "",
    ]
    lines += _md_table(
        BOT_COLUMNS,
        [[md_escape(row[0]), *row[1:]] for row in _bot_rows(report)],
    )
    lines += ["", "## Bot trends", ""]
    lines += _md_table(
        ["Bot", "Trend", "Recent success", "Earlier success", "Duration change"],
        [
            [
                md_escape(t.bot),
                t.trend,
                f"{t.recent_success_rate:.1%} ({t.recent_sessions})",
                f"{t.historical_success_rate:.1%} ({t.historical_sessions})",
                f"{t.duration_change_pct:+.1f}%",
            ]
            for t in report.trends
        ],
    )
    lines += ["", "## Top errors", ""]
    if not report.errors:
        lines.append("No errors.")
    for cluster in report.errors:
        lines += [
            f"- **{md_escape(cluster.fingerprint)}**: {cluster.count} occurrences across "
            f"{cluster.workflows} workflows ({len(cluster.workspaces)} workspaces)",
            f"  - Sample: {md_escape(cluster.sample_message[:200])}",
            f"  - First: {utc_time(cluster.first_seen_ns)}, Last: {utc_time(cluster.last_seen_ns)}",
        ]
    return "\n".join(lines) + "\n"


# --- HTML ----------------------------------------------------------------------------------------
def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


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
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:960px}"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}svg text{font:12px sans-serif;fill:#333}"
    "svg .t{font-weight:bold}svg .b{fill:#4c78a8}.rec{background:#fff6d5;padding:.4em .8em}"
)


def _html_table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_e(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: Report) -> str:
    wf = report.workflows
    oh = report.overhead
    title = f"Weekly work report: {day_of(report.since_ns)} to {day_of(report.until_ns)}"
    sections = [
        f"<h1>{_e(title)}</h1>",
        "<h2>Summary</h2><ul>",
        f"<li>Workflows: {wf.total_workflows}</li>",
        f"<li>Success rate: {wf.success_rate:.1%} ({wf.successful} of {wf.total_workflows})</li>",
        f"<li>Average duration: {fmt_seconds(wf.avg_duration_s)};"
        f" bots per workflow: {wf.avg_bots_per_workflow:.2f}</li>",
        f"<li>Tokens: {report.total_tokens:,}; cost: {report.total_cost:.4f}</li>",
    ]
    if report.alerts:
        sections.append("<li>Alerts: " + _e(", ".join(f"{k} {v}" for k, v in report.alerts.items())) + "</li>")
    sections.append("</ul>")
    sections.append(bar_chart("Workflows per day", [(day, float(n)) for day, n, _ in report.per_day]))
    sections.append("<h2>Most common bot sequences</h2><ol>")
    sections += [f"<li>{_e(pattern)}: {count}</li>" for pattern, count in wf.most_common_patterns]
    sections.append("</ol>")
    if wf.estimates is not None:
        est = wf.estimates
        sections.append(
            f"<h2>Estimate against actual</h2><p>{est.workflows} workflows:"
            f" {fmt_seconds(est.avg_estimated_s)} estimated,"
            f" {fmt_seconds(est.avg_actual_s)} actual (ratio {est.avg_ratio:.2f}); {est.over_estimate} over.</p>"
        )
    sections.append(
        f"<h2>Coordination overhead</h2><p>{oh.coordination_overhead_pct:.1f}%"
        f" ({fmt_seconds(oh.coordination_s)} coordination, {fmt_seconds(oh.tool_s)} tools;"
        f' threshold {oh.threshold_pct:g}%)</p><p class="rec">{_e(oh.recommendation)}</p>'
    )
    sections.append("<h2>Bot comparison</h2>")
    sections.append(_html_table(BOT_COLUMNS, _bot_rows(report)))
    sections.append(
        bar_chart("Success % per bot", [(r.bot, round(r.success_pct, 1)) for r in report.bots], unit="%", max_value=100)
    )
    sections.append("<h2>Bot trends</h2>")
    sections.append(
        _html_table(
            ["Bot", "Trend", "Recent success", "Earlier success", "Duration change"],
            [
                [
                    t.bot,
                    t.trend,
                    f"{t.recent_success_rate:.1%} ({t.recent_sessions})",
                    f"{t.historical_success_rate:.1%} ({t.historical_sessions})",
                    f"{t.duration_change_pct:+.1f}%",
                ]
                for t in report.trends
            ],
        )
    )
    sections.append("<h2>Top errors</h2>")
    sections.append(bar_chart("Occurrences", [(c.fingerprint, float(c.count)) for c in report.errors]))
    sections.append(
        _html_table(
            ["Fingerprint", "Count", "Workflows", "Workspaces", "First seen", "Last seen", "Sample"],
            [
                [
                    c.fingerprint,
                    str(c.count),
                    str(c.workflows),
                    ", ".join(c.workspaces[:5]),
                    utc_time(c.first_seen_ns),
                    utc_time(c.last_seen_ns),
                    c.sample_message[:200],
                ]
                for c in report.errors
            ],
        )
    )
    body = "\n".join(sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )
