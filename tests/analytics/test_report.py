"""The weekly report: figures from the fixed history, and untrusted trace text escaped."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.records import EventRecord, SpanRecord
from otel_worklog._internal.render import report as report_render
from otel_worklog._internal.render.report import md_escape
from tests.cli.scenario import run_cli
from tests.cli.views_scenario import OPEN_REASON, OPS, RESOLUTION, RESOLVED_REASON, fill_views_store
from tests.view.devtools import chromium

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


# --- the report a person reads: from the CLI, the HTML page in Chromium ------------------------------
@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("report") / "worklog.db"
    return path, fill_views_store(path)


def _report_cli(store: Path, *args: str) -> str:
    done = run_cli("report", *args, store=store)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_both_formats_have_the_same_sections_with_escalations_and_the_traces(
    views: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    store, ids = views
    markdown = _report_cli(store)
    page = _report_cli(store, "--format", "html")
    md_sections = re.findall(r"^## (.+)$", markdown, flags=re.M)
    html_sections = re.findall(r"<h2>([^<]+)</h2>", page)
    assert md_sections == html_sections
    assert "Escalations" in md_sections and "Sessions" in md_sections
    for trace_id in ids.values():
        assert f"`otel-worklog explain {trace_id}`" in markdown
        assert f"<code>otel-worklog explain {trace_id}</code>" in page
    escalations = markdown.split("## Escalations", 1)[1].split("\n## ", 1)[0]
    assert "| open |" in escalations and f"| resolved: {RESOLUTION} |" in escalations
    assert md_escape(RESOLVED_REASON) in escalations


def test_no_control_character_of_a_trace_in_any_format(views: tuple[Path, dict[str, str]]) -> None:
    store, _ = views
    controls = re.compile(r"[\x07\x1b\x9b\u202e]")
    for args in ((), ("--format", "html"), ("--json",)):
        out = _report_cli(store, *args)
        assert controls.search(out) is None, args
    data = json.loads(_report_cli(store, "--json"))
    assert OPEN_REASON in [e["reason"] for e in data["escalations"]]  # JSON escapes them: the data is whole
    assert "\\u001b" in _report_cli(store, "--json") and "\\u009b" in _report_cli(store, "--json")
    assert "Production deploy keeps timing out" in _report_cli(store)


@pytest.mark.needs_chromium
def test_the_html_report_in_chromium(views: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    store, ids = views
    target = tmp_path / "report.html"
    done = run_cli("report", "--format", "html", "-o", str(target), store=store)
    assert done.returncode == 0, done.stderr
    with chromium(width=1200, height=900) as browser:
        seen = browser.open(target.as_uri()).evaluate(
            """(() => {
              const rows = (id) => [...document.querySelectorAll(`#${id} tbody tr`)].map(
                (tr) => [...tr.cells].map((td) => td.innerText));
              return {
                sections: [...document.querySelectorAll('h2')].map((h) => h.innerText),
                escalations: rows('escalations'),
                sessions: rows('sessions'),
                commands: [...document.querySelectorAll('code')].map((c) => c.innerText),
                scripts: document.scripts.length,
                charts: document.querySelectorAll('svg').length,
                text: document.body.innerText,
              };
            })()"""
        )
    assert "Escalations" in seen["sections"] and "Sessions" in seen["sections"]
    by_status = {row[3].split(":")[0]: row for row in seen["escalations"]}
    assert set(by_status) == {"open", "resolved"}
    assert by_status["resolved"][4] == RESOLVED_REASON and RESOLUTION in by_status["resolved"][3]
    assert by_status["open"][5] == f"otel-worklog explain {ids[OPS]}"
    assert {row[-1] for row in seen["sessions"]} == {f"otel-worklog explain {t}" for t in ids.values()}
    assert seen["scripts"] == 0 and seen["charts"] == 3
    assert "\x1b" not in seen["text"] and "\u202e" not in seen["text"]
