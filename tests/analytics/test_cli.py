"""``otel-worklog analyze | recommend | insights | report`` on a real SQLite store written by configure()."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.readers import open_reader
from tests.cli.scenario import run_cli
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


# --- on the demo's data, as the README's examples run ---------------------------------------------
@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "worklog.db"
    done = run_cli("demo", store=path, timeout=180)
    assert done.returncode == 0, done.stderr
    return path


def _cli(*args: str, store: Path, columns: int = 200) -> str:
    done = run_cli(*args, store=store, columns=columns)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sessions_count_the_workflows_a_bot_took_part_in(demo: Path) -> None:
    rows = {row["bot"]: row for row in json.loads(_cli("analyze", "compare", "--json", store=demo))}
    logs = json.loads(_cli("logs", "--json", store=demo))
    took_part = {bot: sum(bot in session["bots"] for session in logs) for bot in rows}
    assert {bot: row["sessions"] for bot, row in rows.items()} == took_part
    assert took_part["nanobot"] == 3  # #general, #project-refactor, #coordination-website
    bot_spans = sum(
        span["name"] == "invoke_agent nanobot"
        for session in logs
        for span in json.loads(_cli("explain", session["trace_id"], "--mode", "debug", "--json", store=demo))["spans"]
    )
    assert bot_spans > 3  # the bot spans are more: nanobot is called several times in a workflow


def test_the_readmes_recommend_example_answers_on_the_demo(demo: Path) -> None:
    out = _cli("recommend", "API development", "--domain", "backend", store=demo, columns=80)
    assert out.startswith("Recommended: coder (")
    assert "No bot reaches" not in out and "try --all" not in out
    everyone = json.loads(_cli("recommend", "API development", "--all", "--json", store=demo))
    assert everyone[0]["bot"] == "coder"
    assert {c["bot"] for c in everyone} == {"coder", "nanobot", "researcher", "creative"}  # every candidate
    assert [c["confidence"] for c in everyone] == sorted((c["confidence"] for c in everyone), reverse=True)


def test_the_bot_that_wrote_the_rate_limiter_ranks_above_zero(demo: Path) -> None:
    ranked = json.loads(_cli("recommend", "rate limiting", "--all", "--json", store=demo))
    coder = next(c for c in ranked if c["bot"] == "coder")
    assert coder["confidence"] > 0.5 and coder["matched_keywords"] == ["limit", "rate"]
    assert ranked[0]["bot"] == "coder"


def test_a_domain_no_bot_worked_in_is_said_and_every_bot_ranked(demo: Path) -> None:
    out = _cli("recommend", "API development", "--domain", "frontend", "--all", store=demo, columns=80)
    assert out.startswith("No bot's past work mentions the domain 'frontend'; ranked without it:")
    assert "coder" in out and "creative" in out


def test_compare_an_unknown_bot_says_so(demo: Path) -> None:
    for args in (("analyze", "compare", "nosuchbot"), ("analyze", "compare", "coder", "nosuchbot", "--json")):
        done = run_cli(*args, store=demo)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and "no bot 'nosuchbot' in the last 30 days" in done.stderr
        assert "bots seen: coder, creative, nanobot, researcher" in done.stderr


def test_what_was_not_recorded_is_a_dash_with_the_reason(demo: Path) -> None:
    compare = _cli("analyze", "compare", store=demo, columns=120)
    assert "0.0000" not in compare
    row = next(line for line in compare.splitlines() if line.startswith("│ coder"))
    assert row.rstrip("│ ").endswith("│          - │        -")  # avg tokens, avg cost
    assert "- where no span of the bot recorded token usage or a cost" in compare
    trends = _cli("analyze", "trends", store=demo, columns=120)
    assert "0.0% (0)" not in trends and "+0.0%" not in trends
    assert "- (no sessions)" in trends


def test_an_empty_window_says_why_there_are_no_figures(tmp_path: Path) -> None:
    store = tmp_path / "empty.db"
    wl.configure(store=str(store), exporters=[])
    assert wl.force_flush()  # the store exists for readers before any span is written
    wl.shutdown()
    out = _cli("analyze", store=store, columns=80)
    assert out.strip().startswith("No workflows in the last 30 days: nothing to analyze")
    assert "0.00 min" not in out and "0.0%" not in out
    for sub in ("workflows", "overhead", "trends", "errors", "compare"):
        assert "no " in _cli("analyze", sub, store=store, columns=80).lower()


def test_durations_compared_side_by_side_share_a_unit(demo: Path) -> None:
    out = " ".join(_cli("analyze", "workflows", store=demo, columns=120).split())
    estimate = re.search(r"([\d.]+) (\w+) estimated, ([\d.]+) (\w+) taken on average \(([\d.]+)% of the estimate", out)
    assert estimate is not None, out
    assert estimate.group(2) == estimate.group(4)
    assert float(estimate.group(3)) / float(estimate.group(1)) * 100 == pytest.approx(float(estimate.group(5)), rel=0.1)
