"""``otel-worklog analyze | recommend | insights | report`` on a real SQLite store written by configure()."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.readers import open_reader
from tests.cli_invoke import invoke

EVIL = "<script>alert(1)</script>\x1b[31m"


@wl.tool(name="run_tests")
def run_tests(ok: bool) -> str:
    if not ok:
        raise AssertionError("test 3 failed in /tmp/build/t.py")
    return "ok"


@wl.tool(name="search")
def search(query: str) -> str:
    return "found"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("store") / "worklog.db"
    wl.configure(store=str(path), exporters=[])
    try:
        for i in range(12):
            with wl.workspace(
                f"#project-{i % 3}",
                type="project",
                participants=["nanobot", "coder"],
                query="Build the API endpoints",
                estimated_duration_s=60,
            ):
                with wl.bot("nanobot", role="coordinator"):
                    search("spec")
                    if i == 0:
                        wl.insight("User prefers short summaries", category="user_preference", confidence=0.92)
                        wl.insight(
                            EVIL,
                            category="tool_pattern",
                            confidence=0.99,
                            scope="bot_specific",
                            applies_to=["researcher"],
                        )
                    handoff = wl.handoff("coder", reason="implement")
                with wl.bot("coder", role="backend developer", handoff=handoff):
                    wl.message("On it", mentions=["nanobot"])
                    try:
                        run_tests(i % 4 != 0)
                    except AssertionError:
                        wl.correction("Fixing the failing test")
                    if i % 6 == 0:
                        wl.escalate("Need a production key")
    finally:
        wl.shutdown()
    return path


def _run(*args: str) -> str:
    result = invoke(*args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def _history(store: Path) -> an.History:
    reader = open_reader(store=str(store))
    try:
        return an.build_history(reader.iter_spans())
    finally:
        reader.close()


def test_analyze_json_matches_the_library(store: Path) -> None:
    data = json.loads(_run("analyze", "--store", str(store), "--json"))
    assert data["workflows"]["total_workflows"] == 12
    assert data["workflows"]["successful"] == 10  # two escalations left open
    assert data["workflows"]["most_common_patterns"] == [["nanobot → coder", 12]]
    assert data["workflows"]["estimates"]["workflows"] == 12
    expected = an.compare_bots(_history(store))
    assert [row["bot"] for row in data["bots"]] == [row.bot for row in expected] == ["coder", "nanobot"]
    assert data["bots"][0]["first_shot_pct"] == pytest.approx(expected[0].first_shot_pct)
    assert data["errors"][0]["fingerprint"] == "AssertionError: test <n> failed in <path>"
    assert data["errors"][0]["count"] == 3


@pytest.mark.parametrize(
    ("sub", "title"),
    [
        ("workflows", "Most common bot sequences"),
        ("overhead", "Coordination overhead"),
        ("trends", "Bot performance trends"),
        ("errors", "Error clusters"),
        ("compare", "Bot comparison"),
    ],
)
def test_each_analysis_has_a_subcommand(store: Path, sub: str, title: str) -> None:
    assert title in _run("analyze", sub, "--store", str(store))  # options after the subcommand
    assert json.loads(_run("analyze", "--store", str(store), sub, "--json"))  # or before it


def test_recommend(store: Path) -> None:
    out = _run("recommend", "API development", "--store", str(store))
    assert out.startswith("Recommended: coder (")
    candidates = json.loads(_run("recommend", "API development", "--all", "--json", "--store", str(store)))
    assert [c["bot"] for c in candidates] == ["coder", "nanobot"]
    assert _run("recommend", "API development", "--domain", "frontend", "--store", str(store)).startswith("No bot")


def test_insights_are_listed_scoped_and_cleaned(store: Path) -> None:
    rows = json.loads(_run("insights", "--store", str(store), "--json"))
    assert [r["text"] for r in rows] == ["User prefers short summaries", EVIL]
    for_coder = json.loads(_run("insights", "--store", str(store), "--bot", "coder", "--json"))
    assert [r["text"] for r in for_coder] == ["User prefers short summaries"]
    by_category = json.loads(_run("insights", "--store", str(store), "--category", "tool_pattern", "--json"))
    assert [r["recipients"] for r in by_category] == [["researcher"]]
    table = _run("insights", "--store", str(store), "-w", "#project-0")
    assert "\x1b" not in table
    assert "User prefers short" in table


def test_report_markdown_and_html(store: Path, tmp_path: Path) -> None:
    markdown = _run("report", "--store", str(store), "--days", "7")
    assert "- Workflows: 12" in markdown
    page = tmp_path / "report.html"
    _run("report", "--store", str(store), "--format", "html", "-o", str(page))
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 3


def test_user_errors_are_one_line(store: Path, tmp_path: Path) -> None:
    result = invoke("analyze", "--store", str(tmp_path / "missing.db"))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("otel-worklog: error: ")
    result = invoke("insights", "--store", str(store), "--category", "nope")
    assert result.exit_code == 1
    result = invoke("report", "--store", str(store), "--format", "pdf")
    assert result.exit_code == 1
