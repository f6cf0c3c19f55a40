"""The command tree itself: help, version, usage errors, option precedence and what a command imports."""

from __future__ import annotations

import argparse
import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from otel_worklog._internal.cli.app import COMMANDS, HIDDEN, build_parser
from otel_worklog._internal.cli.options import RUN
from otel_worklog._internal.version import __version__
from tests.cli.scenario import REPO, fill_store, run_cli
from tests.cli_invoke import invoke

README = (REPO / "README.md").read_text(encoding="utf-8")


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


@pytest.mark.parametrize("command", ["logs", "explain"])
def test_a_read_command_loads_neither_analytics_nor_views_nor_http(store: Path, command: str) -> None:
    """What keeps `otel-worklog logs` quick: only the modules the chosen command needs are imported."""
    probe = (
        "import sys\n"
        "from otel_worklog._internal.cli.app import app\n"
        f"code = app.run([{command!r}, '--store', {str(store)!r}])\n"
        "heavy = ['urllib.request', 'http.client', 'otel_worklog._internal.query.analytics',\n"
        "         'otel_worklog._internal.render.html', 'otel_worklog._internal.render.waterfall',\n"
        "         'otel_worklog._internal.query.tempo', 'opentelemetry.sdk.trace', 'typer', 'pydantic',\n"
        "         'difflib', 'html']\n"
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


# --- the tree as a whole: every command resolves, takes its options, and explains itself ---------------
def _walk(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = (), inherited: frozenset[str] = frozenset()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser, frozenset[str]]]:
    """(command path, its parser, the dest of every option it receives) for each command and subcommand."""
    dests = inherited | {
        a.dest
        for a in parser._actions
        if not isinstance(a, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction)
    }
    if path:
        yield path, parser, dests
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, (*path, name), dests)


TREE = list(_walk(build_parser()))
PATHS = [" ".join(path) for path, _, _ in TREE]


def test_the_tree_has_every_command_and_analysis() -> None:
    assert set(PATHS) >= {*COMMANDS, *HIDDEN}
    assert {p for p in PATHS if p.startswith("analyze ")} == {
        "analyze workflows",
        "analyze overhead",
        "analyze trends",
        "analyze errors",
        "analyze compare",
    }


@pytest.mark.parametrize(("path", "parser", "dests"), TREE, ids=PATHS)
def test_every_command_resolves_to_a_function_taking_exactly_its_options(
    path: tuple[str, ...], parser: argparse.ArgumentParser, dests: frozenset[str]
) -> None:
    run = parser.get_default(RUN)
    assert callable(run), f"{' '.join(path)} runs nothing"
    parameters = inspect.signature(run).parameters.values()
    assert all(p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)
    # Every option is a parameter and every parameter an option: no option the function does not take,
    # and no parameter (required or not) that the command line cannot set.
    assert {p.name for p in parameters} == dests
    # The function is the one of the command's own module.
    assert run.__module__ == f"otel_worklog._internal.cli.{({**COMMANDS, **HIDDEN})[path[0]]}"


@pytest.mark.parametrize(("path", "parser", "dests"), TREE, ids=PATHS)
def test_every_command_takes_json(
    path: tuple[str, ...], parser: argparse.ArgumentParser, dests: frozenset[str]
) -> None:
    """The README promises --json everywhere: every command's output is data a script may want."""
    assert "as_json" in dests
    assert "--json" in parser._option_string_actions
    assert "every command takes `--json`" in README


@pytest.mark.parametrize("path", PATHS)
def test_help_renders_for_every_command(path: str) -> None:
    result = invoke(*path.split(), "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"usage: otel-worklog {path}")
    assert result.stderr == ""


@pytest.mark.parametrize("path", PATHS)
def test_a_usage_error_points_to_help_that_works(path: str) -> None:
    """The error names `otel-worklog ... --help`; that command must work (it crashed for analyze)."""
    result = invoke(*path.split(), "--no-such-option")
    assert result.exit_code == 2
    suggested = re.search(r"\(see `otel-worklog ([^`]*)`\)", result.stderr)
    assert suggested is not None, result.stderr
    shown = invoke(*suggested.group(1).split())
    assert shown.exit_code == 0 and shown.stdout.startswith("usage: otel-worklog"), shown.stderr


def test_an_unknown_analysis_points_to_analyze_help_that_works() -> None:
    result = run_cli("analyze", "bogus")
    assert result.returncode == 2
    assert "invalid choice: 'bogus'" in result.stderr and "(see `otel-worklog analyze --help`)" in result.stderr
    shown = run_cli("analyze", "--help", columns=80)
    assert shown.returncode == 0 and shown.stderr == ""
    assert "compare" in shown.stdout and "success %" in shown.stdout


@pytest.mark.parametrize(
    "args", [(), ("analyze",), ("analyze", "compare"), ("report",), ("export",), ("doctor",), ("explain",)]
)
def test_help_as_a_subprocess_fits_80_columns(args: tuple[str, ...]) -> None:
    done = run_cli(*args, "--help", columns=80)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("usage: otel-worklog")
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_command_imports_no_other_commands_module(name: str) -> None:
    probe = (
        "import sys\n"
        "from otel_worklog._internal.cli.app import COMMANDS, app\n"
        f"code = app.run([{name!r}, '--help'])\n"
        "loaded = [m for m in COMMANDS.values() if 'otel_worklog._internal.cli.' + m in sys.modules]\n"
        "print(code, loaded, file=sys.stderr)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="80")
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.stderr.strip() == f"0 [{COMMANDS[name]!r}]"


def test_an_unquoted_workspace_gets_a_hint_to_quote_it() -> None:
    """`-w #general` unquoted: the shell drops `#general` as a comment, so say to quote it."""
    done = run_cli("logs", "-w")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "quote a name that starts with #: -w '#general'" in done.stderr


@pytest.mark.parametrize("args", [("how", "a\udcffb"), ("logs", "-w", "\udcff"), ("explain", "\udcff")])
def test_an_argument_that_is_not_text_is_one_clear_line(args: tuple[str, ...]) -> None:
    """Bytes that are not UTF-8 (here 0xFF) reach Python as lone surrogates: one line, not an internal error."""
    done = run_cli(*args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "is not valid UTF-8 text" in done.stderr and "\\xff" in done.stderr
    assert "internal error" not in done.stderr
