"""The weekly report: figures from the fixed history, and untrusted trace text escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.records import EventRecord, SpanRecord
from otel_worklog._internal.render import report as report_render

from .fixed_history import fixed_history, ns

EVIL = "<script>alert(1)</script> | **bold** [x](javascript:alert(2)) `code` <img src=x onerror=alert(3)>"


def _with_evil_text() -> list[SpanRecord]:
    spans = fixed_history()
    evil_tool = SpanRecord(
        trace_id="a" * 32,
        span_id="e" * 16,
        parent_span_id="a7".ljust(16, "0"),
        name="execute_tool evil",
        kind="INTERNAL",
        start_ns=ns(101),
        end_ns=ns(102),
        status_code="ERROR",
        attributes={sc.WORKSPACE_ID: "#project-api", sc.BOT_NAME: "coder", sc.GEN_AI_TOOL_NAME: "evil"},
        events=(EventRecord("exception", ns(102), {"exception.type": "Evil", "exception.message": EVIL}),),
    )
    evil_bot = SpanRecord(
        trace_id="d" * 32,
        span_id="e1".ljust(16, "0"),
        parent_span_id="0".ljust(16, "0"),
        name="invoke_agent x",
        kind="INTERNAL",
        start_ns=ns(3003),
        end_ns=ns(3004),
        status_code="UNSET",
        attributes={
            sc.WORKSPACE_ID: "#project-web",
            sc.BOT_NAME: EVIL,
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
        },
    )
    return [*spans, evil_tool, evil_bot]


def _report(spans: list[SpanRecord]) -> an.Report:
    return an.build_report(an.build_history(spans), days=7, now_ns=ns(3600))


def test_markdown_figures() -> None:
    text = report_render.to_markdown(_report(fixed_history()))
    assert "- Workflows: 4" in text
    assert "- Success rate: 50.0% (2 of 4)" in text
    # One duration format everywhere (three significant digits, a space before the unit): not "117.5s".
    assert "- Average duration: 118 s" in text
    assert "1. nanobot → coder: 2" in text
    assert "- Recommendation: Coordination overhead is acceptable" in text
    assert f"{100 * 45 / 191.8:.1f}% of coordination + tool time" in text
    assert "| coder | 3 | 66.7% | 0.0% | 62.3 s | 1833 | 0.0833 |" in text
    assert "**AssertionError: test <n> failed**" not in text  # escaped
    assert "**AssertionError: test &lt;n&gt; failed**: 2 occurrences across 2 workflows (2 workspaces)" in text
    assert "| 2026-01-05 | 4 | 2 |" in text
    assert "| 2025-12-29 | 0 | 0 |" in text  # every day of the window, to the day of the report


def test_days_limit_the_window() -> None:
    report = an.build_report(an.build_history(fixed_history()), days=1, now_ns=ns(86_400 + 1500))
    assert report.workflows.total_workflows == 2  # C and D started in the last day
    assert report.per_day == [("2026-01-05", 2, 1), ("2026-01-06", 0, 0)]


def test_markdown_escapes_trace_text() -> None:
    text = report_render.to_markdown(_report(_with_evil_text()))
    assert "<script>" not in text and "<img" not in text
    assert "](javascript" not in text
    assert "| **bold**" not in text
    columns = 0
    for line in text.splitlines():
        if not line.startswith("|"):
            columns = 0
            continue
        pipes = len(re.findall(r"(?<!\\)\|", line))
        columns = columns or pipes  # the header row sets the count
        assert pipes == columns, line  # no column injected by trace text


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs


def test_html_is_self_contained_escaped_and_has_charts() -> None:
    page = report_render.to_html(_report(_with_evil_text()))
    parser = _Collect()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert not any(name.startswith("on") for name, _ in parser.attrs)
    assert not any(name in ("src", "href") for name, _ in parser.attrs)  # nothing loaded from outside
    assert parser.tags.count("svg") == 3  # workflows per day, success per bot, top errors
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Consider Phase 3" not in page
    assert "<td>coder</td><td>3</td><td>66.7%</td>" in page.replace(" ", "")
