"""The README's code runs, and its tables match the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from otel_worklog._internal import semconv
from otel_worklog._internal import settings as config_params

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST_"))}
    env["OTEL_WORKLOG_STORE"] = str(tmp_path / "worklog.db")
    return env


def test_quickstart_has_exactly_two_setup_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = _blocks("bash")
    in_quickstart = [c for c in commands if c in quickstart]
    assert in_quickstart == [
        "python -m pip install . && otel-worklog demo\n",
        "python -m pip install '.[test]' && python -m pytest\n",
    ]


def test_quickstart_code_runs_and_records_the_session(tmp_path: Path) -> None:
    code = next(block for block in _blocks("python") if "wl.escalate(" in block and "def test_" not in block)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    from otel_worklog._internal.query.readers import open_reader

    reader = open_reader(store=str(tmp_path / "worklog.db"))
    try:
        (session,) = reader.sessions()
        assert session.workspace_id == "#general"
        assert session.escalations == 1
        assert set(session.bots) == {"nanobot", "researcher"}
    finally:
        reader.close()


def test_every_python_block_runs(tmp_path: Path) -> None:
    for index, code in enumerate(_blocks("python")):
        if "def test_" in code:
            path = tmp_path / f"test_readme_block_{index}.py"
            path.write_text(code, encoding="utf-8")
            command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
        else:
            command = [sys.executable, "-c", code]
        result = subprocess.run(command, cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"README block {index} failed:\n{code}\n{result.stdout}\n{result.stderr}"


def test_settings_table_is_generated_from_the_registry() -> None:
    start = README.index("<!-- settings table:")
    start = README.index("\n", start) + 1
    end = README.index("<!-- end of settings table -->")
    assert README[start:end].strip() == config_params.settings_markdown().strip()


def test_settings_table_lists_every_setting() -> None:
    missing = [s.env for s in config_params.SETTINGS if f"`{s.env}`" not in README]
    assert missing == []


def test_attribute_table_lists_every_attribute() -> None:
    attributes = [
        value
        for name, value in vars(semconv).items()
        if name.isupper()
        and isinstance(value, str)
        and "." in value
        and not name.startswith(("SPAN_", "EVENT_", "INSTRUMENTATION"))
    ]
    missing = [a for a in attributes if f"| `{a}` |" not in README]
    assert missing == []


@pytest.mark.parametrize("heading", ["## Quickstart", "Run the stack", "### Settings", "### Semantic conventions"])
def test_readme_sections_exist(heading: str) -> None:
    assert heading in README
