"""What a user sees in a terminal of 80 or 60 columns, each command run as a real subprocess.

Tables stay readable (no column squeezed to nothing, no header cut, long text wrapped), trace ids are
unique prefixes that every command takes back, times show their zone, durations have one format, a
resolved escalation never reads as open, ``how`` folds word forms and finds tool errors, and detector
alerts are in the timelines.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from otel_worklog._internal.query.store_reader import StoreReader
from otel_worklog._internal.query.tempo import traceql_regex_literal
from otel_worklog._internal.status import STATUS_MEANINGS
from tests.cli.scenario import REPO, run_cli
from tests.cli.views_scenario import (
    DEPLOY_ENTRIES,
    LOOPS,
    OPEN_REASON,
    OPS,
    RESOLUTION,
    RESOLVED_REASON,
    SINGLES,
    SUPPORT,
    fill_singles_store,
    fill_views_store,
)
from tests.store.test_tempo_reader import FakeTempo, serve

WIDTHS = (80, 60)
#: A duration or a time offset written without a space before its unit ("154.6ms", "0.364s").
_GLUED_UNIT = re.compile(r"\d(?:ns|µs|ms|s|min|h)\b")


@pytest.fixture(scope="module")
def views(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("views") / "worklog.db"
    return path, fill_views_store(path)


def _ok(*args: str, store: Path, columns: int = 200) -> str:
    done = run_cli(*args, store=store, columns=columns)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout


def _cells(line: str, bar: str) -> list[str]:
    """The cells of one table line drawn with ``bar`` between columns."""
    return [cell.strip() for cell in line.strip().strip(bar).split(bar)]


def _tables(out: str) -> Iterator[tuple[list[str], list[list[list[str]]]]]:
    """Each boxed table: its headers, and its rows (each row a list of its lines' cells)."""
    lines = out.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith("┃"):
            continue
        header = [*_cells(line, "┃")]
        while index + 1 < len(lines) and lines[index + 1].startswith("┃"):  # a header on two lines
            index += 1
            header = [f"{a} {b}".strip() for a, b in zip(header, _cells(lines[index], "┃"), strict=True)]
        rows: list[list[list[str]]] = []
        for body in lines[index + 2 :]:
            if not body.startswith("│"):
                break
            cells = _cells(body, "│")
            if cells[0] or not rows:  # a new row starts where its first cell has text
                rows.append([cells])
            else:
                rows[-1].append(cells)
        yield header, rows


def _readable(out: str, columns: int) -> None:
    """Every line fits; every header is whole; no column is squeezed empty where its rows have data."""
    for line in out.splitlines():
        assert cell_len(line) <= columns, f"wider than {columns}: {line!r}"
    for header, rows in _tables(out):
        assert all(h and "…" not in h for h in header), f"a header is empty or cut: {header}"
        firsts = [row[0] for row in rows]
        assert all(len(first) == len(header) for first in firsts)
        for index, name in enumerate(header):
            column = [first[index] for first in firsts]
            assert not rows or any(column), f"the column {name!r} is empty in every row"
            assert "…" not in column, f"a cell of {name!r} is cut to nothing: {column}"


COMMANDS = [
    ("logs",),
    ("escalations",),
    ("explain", "-w", OPS),
    ("explain", "-w", OPS, "--mode", "summary"),
    ("explain", "-w", OPS, "--mode", "debug"),
    ("explain", "-w", OPS, "--mode", "coordination"),
    ("explain", "-w", SUPPORT),
    ("how", "deploy"),
    ("how", "timeout"),
    ("analyze",),
    ("analyze", "compare"),
    ("analyze", "errors"),
    ("recommend", "deploy the release", "--all"),
]


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_every_table_is_readable(views: tuple[Path, dict[str, str]], args: tuple[str, ...], columns: int) -> None:
    store, _ = views
    out = _ok(*args, store=store, columns=columns)
    _readable(out, columns)
    assert _GLUED_UNIT.search(out) is None, _GLUED_UNIT.search(out)


@pytest.mark.parametrize("columns", WIDTHS)
def test_logs_keeps_workspace_status_and_a_trace_id_that_opens_the_session(
    views: tuple[Path, dict[str, str]], columns: int
) -> None:
    store, ids = views
    out = _ok("logs", store=store, columns=columns)
    (header, rows), *_ = list(_tables(out))
    assert {"Workspace", "Status", "Trace"} <= set(header)
    shown = {row[0][header.index("Trace")] for row in rows}
    assert len(shown) == len(ids) and all(len(prefix) >= 8 for prefix in shown)
    for trace_id in ids.values():
        (prefix,) = [p for p in shown if trace_id.startswith(p)]
        opened = json.loads(_ok("explain", prefix, "--json", store=store))
        assert opened["trace_id"] == trace_id
    statuses = {row[0][header.index("Workspace")]: row[0][header.index("Status")] for row in rows}
    assert statuses["#ops"] == "🚨 escalated" and statuses[LOOPS] == "✓ ok"


def test_the_old_80_column_defects_are_gone(views: tuple[Path, dict[str, str]]) -> None:
    """``logs`` had a header of empty columns; ``escalations`` squeezed the reason to three letters a line."""
    store, _ = views
    logs = _ok("logs", store=store, columns=80)
    assert "┃  ┃" not in logs and "┃┃" not in logs
    escalations = _ok("escalations", store=store, columns=80)
    ((header, rows),) = list(_tables(escalations))
    reasons = [" ".join(line[header.index("Reason")] for line in row) for row in rows]
    assert any(reason.startswith("Production deploy keeps timing out: roll back") for reason in reasons)
    widest = max(len(line[header.index("Reason")]) for row in rows for line in row)
    assert widest >= 20


class TestTimes:
    def test_local_times_show_their_zone_and_utc_says_utc(
        self, views: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        store, ids = views
        monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30 all year: no daylight saving time to trip on
        assert "Started (+05:30)" in _ok("logs", store=store)
        assert "When (+05:30)" in _ok("escalations", store=store)
        local = _ok("explain", ids[OPS], store=store)
        assert re.search(r"Started: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+05:30", local)
        assert "Started (UTC)" in _ok("logs", "--utc", store=store)
        utc = _ok("explain", ids[OPS], "--utc", store=store)
        assert re.search(r"Started: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", utc)
        # The same moment: local is five and a half hours ahead.
        started = [re.search(r"Started: \S+ (\d\d):(\d\d)", text) for text in (local, utc)]
        hours = [int(found.group(1)) for found in started if found]
        assert len(hours) == 2, (local, utc)
        assert (hours[0] - hours[1]) % 24 in (5, 6)

    def test_report_times_and_days_follow_the_same_clock(
        self, views: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        store, _ = views
        monkeypatch.setenv("TZ", "Asia/Kolkata")
        assert "times +05:30)" in _ok("report", store=store).splitlines()[0]
        assert "times UTC)" in _ok("report", "--utc", store=store).splitlines()[0]


#: A count of one with a plural noun: "1 tool calls", "1 matching entries".
_ONE_WITH_A_PLURAL = re.compile(
    r"\b1 (?:\w+ )?(?:tool calls|entries|escalations|errors|alerts|handoffs|sessions|bots|steps|spans|matches|days)\b"
)


@pytest.fixture(scope="module")
def singles(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("singles") / "worklog.db"
    return path, fill_singles_store(path)


def test_debug_spans_show_a_real_status_as_the_html_view_does(singles: tuple[Path, str]) -> None:
    """OK or ERROR, never OpenTelemetry's UNSET (a span nobody marked is a success)."""
    store, trace_id = singles
    out = _ok("explain", trace_id, "--mode", "debug", store=store, columns=80)
    (header, rows), *_ = [table for table in _tables(out) if "Status" in table[0]]
    statuses = [(row[0][header.index("Name")], row[0][header.index("Status")]) for row in rows]
    assert "UNSET" not in out
    assert [name for name, status in statuses if status == "ERROR"] == [statuses[4][0]]
    assert statuses[4][0].startswith("execute_tool")  # the failed lookup
    assert [status for _, status in statuses].count("OK") == len(statuses) - 1 == 5, statuses


class TestWordsAndIcons:
    def test_a_count_of_one_takes_the_singular_in_every_view(self, singles: tuple[Path, str]) -> None:
        store, trace_id = singles
        outputs = {
            " ".join(args): _ok(*args, store=store, columns=80)
            for args in (
                ("logs",),
                *(("explain", trace_id, "--mode", mode) for mode in ("summary", "detailed", "debug", "coordination")),
                ("how", "missing key owns"),
                ("escalations",),
                ("report", "--days", "1"),
            )
        }
        summary = outputs[f"explain {trace_id} --mode summary"]
        assert "1 tool call · 1 handoff · 1 escalation · 1 error · 0 alerts" in summary
        assert "1 tool calls" not in summary
        assert "(1 escalation waiting for a human)" in summary
        assert "1 coordination entry · 1 handoff · 1 escalation" in outputs[f"explain {trace_id} --mode coordination"]
        assert outputs["how missing key owns"].startswith("1 match for 'missing key owns'")
        assert "(1 day, times " in outputs["report --days 1"].splitlines()[0]
        for command, out in outputs.items():
            assert _ONE_WITH_A_PLURAL.search(out) is None, (command, _ONE_WITH_A_PLURAL.search(out))
        assert SINGLES in outputs["logs"]

    def test_counts_agree_with_their_nouns(self, views: tuple[Path, dict[str, str]]) -> None:
        store, ids = views
        summary = _ok("explain", ids[SUPPORT], "--mode", "summary", store=store)
        assert "0 tool calls · 0 handoffs · 1 escalation (1 resolved) · 0 errors · 0 alerts" in summary
        assert "2 entries" in summary
        one = _ok("how", "refund limit approve", store=store)
        assert one.startswith("1 match for 'refund limit approve'")

    def test_an_escalation_has_one_icon_everywhere(self, views: tuple[Path, dict[str, str]]) -> None:
        store, ids = views
        found = _ok("how", "why escalate", store=store)
        timeline = _ok("explain", ids[OPS], store=store)
        for out in (found, timeline):
            line = next(line for line in out.splitlines() if "Escalation: Production deploy" in line)
            assert "🚨" in line and "🧭" not in line


class TestWorkspaceNames:
    def test_a_workspace_without_its_hash(self, views: tuple[Path, dict[str, str]]) -> None:
        store, ids = views
        bare = json.loads(_ok("logs", "-w", "ops", "--json", store=store))
        assert [row["trace_id"] for row in bare] == [ids[OPS]]
        assert bare == json.loads(_ok("logs", "-w", "#ops", "--json", store=store))
        assert json.loads(_ok("explain", "-w", "loops", "--json", store=store))["trace_id"] == ids[LOOPS]

    @pytest.mark.parametrize(("typed", "nearest"), [("opps", "#ops"), ("support-desk", SUPPORT), ("#loop", LOOPS)])
    def test_an_unknown_workspace_names_the_nearest(
        self, views: tuple[Path, dict[str, str]], typed: str, nearest: str
    ) -> None:
        store, _ = views
        done = run_cli("logs", "-w", typed, store=store)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.count("\n") == 1
        assert f"no sessions in workspace {typed!r}" in done.stderr and nearest in done.stderr
        assert "demo" not in done.stderr


class TestResolvedEscalation:
    def test_no_view_reads_escalated(self, views: tuple[Path, dict[str, str]]) -> None:
        store, ids = views
        row = next(r for r in json.loads(_ok("logs", "--json", store=store)) if r["trace_id"] == ids[SUPPORT])
        assert row["status"] == "ok" and row["open_escalations"] == 0
        header = _ok("explain", ids[SUPPORT], store=store).split("╰", 1)[0]
        assert "escalated" not in header and "Status: ✓ ok" in header and "1 escalation resolved" in header
        assert "Escalation, resolved" in _ok("explain", ids[SUPPORT], store=store)

    def test_escalations_says_open_or_resolved(self, views: tuple[Path, dict[str, str]]) -> None:
        store, ids = views
        rows = {row["trace_id"]: row for row in json.loads(_ok("escalations", "--json", store=store))}
        assert rows[ids[SUPPORT]]["status"] == "resolved" and rows[ids[SUPPORT]]["resolution"] == RESOLUTION
        assert rows[ids[OPS]]["status"] == "open" and rows[ids[OPS]]["resolution"] is None
        for columns in WIDTHS:
            ((header, table_rows),) = list(_tables(_ok("escalations", store=store, columns=columns)))
            status = {row[0][header.index("Trace")]: row[0][header.index("Status")] for row in table_rows}
            assert status[ids[SUPPORT][:8]] == "✓ resolved" and status[ids[OPS][:8]] == "open"


class TestHow:
    def test_it_says_how_many_it_does_not_show(self, views: tuple[Path, dict[str, str]]) -> None:
        store, _ = views
        out = _ok("how", "deploy", store=store)
        shown = re.match(r"Showing 5 of (\d+) matches for 'deploy'", out)
        assert shown, out
        total = int(shown.group(1))
        assert total >= DEPLOY_ENTRIES + 1  # the steps, the correction and the tool's timeout
        every = json.loads(_ok("how", "deploy", "-n", str(total), "--json", store=store))
        assert len(every) == total
        assert _ok("how", "deploy", "-n", str(total), store=store).startswith(f"{total} matches for 'deploy'")

    def test_word_forms_match(self, views: tuple[Path, dict[str, str]]) -> None:
        store, ids = views
        hits = json.loads(_ok("how", "why escalate", "--json", store=store))
        assert {(h["trace_id"], h["category"]) for h in hits} == {
            (ids[OPS], "escalation"),
            (ids[SUPPORT], "escalation"),
        }
        assert any(h["message"].startswith("Escalation: Refund above the limit") for h in hits)

    def test_timeout_finds_the_tools_error_and_its_message(self, views: tuple[Path, dict[str, str]]) -> None:
        store, ids = views
        hits = json.loads(_ok("how", "timeout", "--json", store=store))
        (error,) = [h for h in hits if h["kind"] == "error"]
        assert error["trace_id"] == ids[OPS] and error["bot"] == "deployer"
        assert error["error"].startswith("TimeoutError: deploy to prod timed out after 30 s")
        shown = _ok("how", "timeout", store=store, columns=80)
        assert "TimeoutError: deploy to prod timed out" in " ".join(shown.split())


def test_alerts_are_in_the_summary_and_the_timeline(views: tuple[Path, dict[str, str]]) -> None:
    store, ids = views
    for mode in ("summary", "detailed"):
        out = _ok("explain", ids[LOOPS], "--mode", mode, store=store, columns=80)
        line = next(line for line in out.splitlines() if "tool_loop" in line)
        assert "🔔" in line and "watcher called status_page" in line
    assert "1 alert" in _ok("explain", ids[LOOPS], "--mode", "summary", store=store)


def test_no_control_character_of_the_trace_reaches_the_terminal(views: tuple[Path, dict[str, str]]) -> None:
    store, _ = views
    for args in (("escalations",), ("how", "timeout"), ("explain", "-w", OPS), ("analyze", "errors")):
        out = _ok(*args, store=store, columns=80)
        assert not re.search(r"[\x07\x1b\x9b\u202e]", out), args
    assert OPEN_REASON.split("?")[0] in " ".join(_ok("escalations", store=store).split())


def test_the_resolved_reason_reads_whole(views: tuple[Path, dict[str, str]]) -> None:
    store, _ = views
    for columns in WIDTHS:
        out = _ok("escalations", store=store, columns=columns)
        ((header, rows),) = list(_tables(out))
        reasons = [
            " ".join(line[header.index("Reason")] for line in row if line[header.index("Reason")]) for row in rows
        ]
        assert any(RESOLVED_REASON in " ".join(reason.split()) for reason in reasons), reasons


# --- Tempo: what it answers is untrusted too -------------------------------------------------------------
class _FailingTempo(FakeTempo):
    """A Tempo that answers every request with HTTP 500 and a body that would drive a terminal."""

    body = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e" + "tempo exploded " * 400

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        return 500, self.body


@pytest.fixture
def failing_tempo() -> Iterator[str]:
    with serve(_FailingTempo({})) as url:
        yield url


@pytest.mark.parametrize("args", [("logs",), ("escalations",), ("how", "x"), ("explain",)])
def test_a_tempo_error_body_is_one_short_clean_line(failing_tempo: str, args: tuple[str, ...]) -> None:
    done = run_cli(*args, "--tempo", failing_tempo)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", done.stderr), repr(done.stderr[:80])
    assert "answered HTTP 500: ]0;pwned[2J31mtempo exploded" in done.stderr
    assert len(done.stderr) < 400 and done.stderr.rstrip().endswith("…")


@pytest.fixture(scope="module")
def tempo(views: tuple[Path, dict[str, str]]) -> Iterator[tuple[str, FakeTempo, dict[str, str]]]:
    """A Tempo answering from the views' traces (recorded responses: Tempo cannot run here, no Docker)."""
    store, ids = views
    with StoreReader(store) as reader:
        traces = {trace_id: reader.trace(trace_id) for trace_id in ids.values()}
    fake = FakeTempo(traces)
    timeout = traceql_regex_literal("timeout")
    errors = f"span:statusMessage =~ {timeout} || event.exception.message =~ {timeout}"
    fake.search = {
        "{ }": list(ids.values()),
        f"{{ ({errors} || event.exception.type =~ {timeout}) }}": [ids[OPS]],
    }
    with serve(fake) as url:
        yield url, fake, ids


class TestOnTempo:
    """``how`` finds a tool's error on Tempo too, and a trace id prefix from ``logs`` opens the trace."""

    def test_how_finds_the_tools_timeout(self, tempo: tuple[str, FakeTempo, dict[str, str]]) -> None:
        url, _, ids = tempo
        done = run_cli("how", "timeout", "--json", "--tempo", url)
        assert done.returncode == 0, done.stderr
        (hit,) = json.loads(done.stdout)
        assert hit["kind"] == "error" and hit["trace_id"] == ids[OPS]
        assert hit["error"].startswith("TimeoutError: deploy to prod timed out after 30 s")

    def test_a_prefix_from_logs_opens_the_trace(self, tempo: tuple[str, FakeTempo, dict[str, str]]) -> None:
        url, _, ids = tempo
        logs = run_cli("logs", "--tempo", url)
        assert logs.returncode == 0, logs.stderr
        prefix = ids[OPS][:8]
        assert prefix in logs.stdout and ids[OPS] not in logs.stdout
        opened = run_cli("explain", prefix, "--json", "--tempo", url)
        assert opened.returncode == 0, opened.stderr
        assert json.loads(opened.stdout)["trace_id"] == ids[OPS]


# --- words a user reads ---------------------------------------------------------------------------------
_INTERNAL_WORDS = re.compile(r"\bseeds?\b|\bphase \d", re.IGNORECASE)


def _user_strings(path: Path) -> Iterator[tuple[int, str]]:
    """The string literals of a module that are not docstrings: what it prints, raises and returns."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_user_facing_text_names_design_documents_or_phases() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}: {text[:60]!r}"
        for path in sorted((REPO / "otel_worklog").rglob("*.py"))
        for line, text in _user_strings(path)
        if _INTERNAL_WORDS.search(text)
    ]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    found += [f"README.md: {m.group()!r}" for m in _INTERNAL_WORDS.finditer(readme)]
    assert found == []


def test_the_readme_says_what_each_status_means() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Session status", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert rows == [f"| `{status}` | {meaning} |" for status, meaning in STATUS_MEANINGS.items()]
