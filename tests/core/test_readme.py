"""The README's code runs, and its tables match the code."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal import semconv
from otel_worklog._internal import settings as config_params
from otel_worklog._internal.query.readers import open_reader
from otel_worklog._internal.query.records import SessionSummary, SpanRecord

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


# --- The sections the SDK's users look for, and what their code records -----------------------------------------


def _section(heading: str) -> str:
    """The text under ``heading`` up to the next heading of any level (code blocks included)."""
    assert f"\n{heading}\n" in README, f"the README has no section {heading!r}"
    body = README.split(f"\n{heading}\n", 1)[1]
    return re.split(r"\n#{2,3} ", body, maxsplit=1)[0]


def _code(heading: str) -> str:
    (code,) = re.findall(r"```python\n(.*?)```", _section(heading), flags=re.S)
    return str(code)


@contextmanager
def _recorded(heading: str, tmp_path: Path) -> Iterator[tuple[list[SessionSummary], dict[str, list[SpanRecord]]]]:
    """Run the section's code as a script with a store; yield the sessions it recorded and each one's spans."""
    result = subprocess.run(
        [sys.executable, "-c", _code(heading)],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    reader = open_reader(store=str(tmp_path / "worklog.db"))
    try:
        sessions = reader.sessions()
        yield sessions, {s.trace_id: reader.trace(s.trace_id) for s in sessions}
    finally:
        reader.close()


def _by_name(spans: list[SpanRecord]) -> dict[str, SpanRecord]:
    return {span.name: span for span in spans}


def test_the_entry_levels_table_lists_every_level_the_code_has() -> None:
    section = _section("### Work-log entries")
    rows = re.findall(r"^\| `(\w+)` \| `(wl\.\w+)\(", section, flags=re.M)
    assert sorted(level for level, _ in rows) == sorted(semconv.LEVELS)  # each once, none missing, none extra
    for level, call in rows:
        assert call.removeprefix("wl.") in wl.__all__, (level, call)
    sampled = re.search(r"((?:`\w+`(?:, | and ))*`\w+`) are the\s+levels `OTEL_WORKLOG_INFO_SAMPLE_RATE`", section)
    assert sampled, "the README says which levels the info sample rate thins"
    assert sorted(re.findall(r"`(\w+)`", sampled.group(1))) == sorted(semconv.SAMPLED_LEVELS)


def test_the_entry_levels_example_records_each_level_it_names(tmp_path: Path) -> None:
    with _recorded("### Work-log entries", tmp_path) as (sessions, traces):
        (session,) = sessions
        (triage,) = [span for span in traces[session.trace_id] if span.bot_name == "triage" and span.events]
        levels = {event.attributes.get(semconv.WORKLOG_LEVEL) for event in triage.events if event.is_entry}
    assert levels == {"thinking", "info", "decision", "uncertainty", "warning", "correction", "error"}
    assert session.status == "error"  # as the table says an error entry does


def test_the_handoff_section_sends_the_carrier_as_json_to_another_process(tmp_path: Path) -> None:
    section = _section("### Handing off to a bot in another process")
    for said in ("h.carrier", "traceparent", "h.to_json()", "wl.bot(name, handoff=...)", "`@wl.agent`"):
        assert said in section, said
    code = _code("### Handing off to a bot in another process")
    assert "json.dumps(" in code and "subprocess.run(" in code and "json.loads(sys.stdin.read())" in code
    with _recorded("### Handing off to a bot in another process", tmp_path) as (sessions, traces):
        (session,) = sessions  # one session, though two processes wrote it
        spans = _by_name(traces[session.trace_id])
    assert session.workspace_id == "#project-x" and set(session.bots) == {"planner", "coder"}
    handoff, coder = spans["handoff planner -> coder"], spans["invoke_agent coder"]
    planner = spans["invoke_agent planner"]
    # The receiver ran in the other interpreter, under its own service name ...
    assert coder.resource["service.name"] == "coder-worker" and planner.resource["service.name"] == "planner"
    # ... and hangs under the handoff span, links back to it, and carries the sender's workspace.
    assert coder.parent_span_id == handoff.span_id and coder.trace_id == handoff.trace_id
    assert [(link.trace_id, link.span_id) for link in coder.links] == [(handoff.trace_id, handoff.span_id)]
    assert coder.workspace_id == "#project-x"
    assert [event.attributes.get(semconv.WORKLOG_LEVEL) for event in handoff.events] == ["handoff"]  # as the table says
    assert any(event.attributes.get(semconv.WORKLOG_MESSAGE) == "Implementing rate limiting" for event in coder.events)


def test_the_agent_section_names_agents_with_the_decorator(tmp_path: Path) -> None:
    section = _section("### Naming an agent: `@wl.agent`")
    assert "@wl.agent(name=" in section and "@wl.agent  #" in section
    with _recorded("### Naming an agent: `@wl.agent`", tmp_path) as (sessions, traces):
        (session,) = sessions
        spans = _by_name(traces[session.trace_id])
    assert set(session.bots) == {"planner", "researcher", "summarise"}
    researcher, handoff = spans["invoke_agent researcher"], spans["handoff planner -> researcher"]
    assert researcher.parent_span_id == handoff.span_id  # the decorator took the handoff parameter
    assert researcher.attributes.get("bot.role") == "specialist"


def test_the_resolve_section_resolves_the_escalation(tmp_path: Path) -> None:
    section = _section("### Escalations and `resolve()`")
    assert "escalation.resolve(resolution)" in section and "wl.Escalation" in section
    with _recorded("### Escalations and `resolve()`", tmp_path) as (sessions, traces):
        (session,) = sessions
        escalation = _by_name(traces[session.trace_id])[semconv.ESCALATION_SPAN_NAME]
    assert session.escalations == 1 and session.resolved_escalations == 1
    assert [event.attributes.get(semconv.WORKLOG_LEVEL) for event in escalation.events] == ["coordination"]
    assert session.status != "escalated"


def test_the_frameworks_section_matches_the_extras_and_the_peers_it_names() -> None:
    """Each framework's three lines, its extra and version as pyproject.toml pins them, and the peers'
    modules and classes the section names (installed by the ``framework-peers`` extra)."""
    section = _section("## Agent frameworks")
    with open(ROOT / "pyproject.toml", "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    for module, extra, pins in [
        ("openai_agents", "openai-agents", {"openai-agents": "0.24"}),
        ("langgraph", "langgraph", {"langgraph": "1.2", "langchain-core": "1.8"}),
        ("pydantic_ai", "pydantic-ai", {"pydantic-ai-slim": "2.68"}),
    ]:
        assert f"from otel_worklog.integrations import {module}\n\n{module}.instrument()" in section
        assert f"pip install 'otel-worklog[{extra}]'" in section
        for distribution, version in pins.items():
            assert f"{distribution}>={version}" in extras[extra]
            assert f"{distribution} {version}" in section
    named = re.findall(r"`(\w+)\(\)\.instrument\(\)`", section) + re.findall(r"`(OpenInferenceSpanProcessor)`", section)
    modules = re.findall(r"`((?:openinference|opentelemetry)\.instrumentation\.\w+)`", section)
    assert set(named) >= {"OpenAIAgentsInstrumentor", "LangChainInstrumentor", "LangchainInstrumentor"}
    assert len(modules) == 5, modules
    for module in modules:
        try:
            loaded = importlib.import_module(module)
        except ImportError:
            if os.environ.get("WORKLOG_TESTS_REQUIRE_FRAMEWORKS") == "1":
                raise
            pytest.skip(f"{module} is not installed: pip install -e '.[framework-peers]'")
        assert any(hasattr(loaded, name) for name in named), (module, named)
