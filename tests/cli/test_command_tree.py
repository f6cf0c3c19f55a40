"""The command tree itself: help, version, usage errors, option precedence and what a command imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from otel_worklog._internal.version import __version__
from tests.cli.scenario import REPO, fill_store, run_cli
from tests.cli_invoke import invoke


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tree") / "worklog.db"
    fill_store(path)
    return path


def test_no_command_prints_the_commands() -> None:
    result = invoke()
    assert result.exit_code == 0
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert {"demo", "logs", "explain", "how", "escalations", "view", "export", "analyze", "doctor"} <= listed
    assert "workspace-logs" not in result.stdout  # the seeds' alias works but is not advertised


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"otel-worklog {__version__}"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["logs", "-n", "0"], "argument -n/--limit: 0 is below the minimum 1"),
        (["logs", "--nope"], "unrecognized arguments: --nope"),
        (["analyze", "--days", "soon"], "argument --days: 'soon' is not a number"),
        (["recommend", "x", "--min-confidence", "2"], "argument --min-confidence: 2 is above the maximum 1"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(args: list[str], expected: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("otel-worklog: error: ") and expected in result.stderr
    assert "--help`" in result.stderr


def test_long_options_are_never_abbreviated(store: Path) -> None:
    assert invoke("logs", "--stor", str(store)).exit_code == 2


def test_analysis_options_after_the_analysis_win(store: Path, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.db")
    result = invoke("analyze", "--store", missing, "workflows", "--store", str(store), "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total_workflows"] == 2
    # ...and an option given only before the analysis still applies to it.
    result = invoke("analyze", "--store", missing, "workflows")
    assert result.exit_code == 1 and "missing.db" in result.stderr


def test_the_bot_filter_accepts_the_at_sign(store: Path) -> None:
    with_at = invoke("analyze", "compare", "@coder", "--store", str(store), "--json")
    without = invoke("analyze", "compare", "coder", "--store", str(store), "--json")
    assert with_at.exit_code == 0, with_at.stderr
    assert [row["bot"] for row in json.loads(with_at.stdout)] == ["coder"]
    assert with_at.stdout == without.stdout


def test_logs_loads_neither_analytics_nor_views_nor_http(store: Path) -> None:
    """What keeps `otel-worklog logs` quick: only the modules the chosen command needs are imported."""
    probe = (
        "import sys\n"
        "from otel_worklog._internal.cli.app import app\n"
        f"code = app.run(['logs', '--store', {str(store)!r}])\n"
        "heavy = ['urllib.request', 'http.client', 'otel_worklog._internal.query.analytics',\n"
        "         'otel_worklog._internal.render.html', 'otel_worklog._internal.query.tempo',\n"
        "         'opentelemetry.sdk.trace', 'typer', 'pydantic']\n"
        "print(code, [name for name in heavy if name in sys.modules], file=sys.stderr)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="200")
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "0 []"
    assert "#project-x" in done.stdout


def test_the_hidden_seed_alias_runs_logs(store: Path) -> None:
    assert run_cli("workspace-logs", "--json", store=store).stdout == run_cli("logs", "--json", store=store).stdout
