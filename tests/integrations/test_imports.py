"""``import otel_worklog`` (and each integration module) imports no framework; each comes with its extra."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.cli.scenario import REPO

FRAMEWORKS = ("agents", "langchain_core", "langgraph", "pydantic_ai", "openinference", "opentelemetry.instrumentation")


def test_importing_otel_worklog_and_its_integrations_imports_no_framework() -> None:
    code = (
        "import sys, otel_worklog as wl\n"
        "from otel_worklog.integrations import langgraph, openai_agents, pydantic_ai\n"
        "wl.configure(store=False)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r} or m in {FRAMEWORKS!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_each_integration_has_its_extra_pinned_at_the_tested_versions() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    assert "openai-agents>=0.24" in extras["openai-agents"]
    assert {"langgraph>=1.2", "langgraph-supervisor>=0.0.31", "langchain-core>=1.8"} <= set(extras["langgraph"])
    assert "pydantic-ai-slim>=2.68" in extras["pydantic-ai"]


def test_the_public_integration_modules_only_re_export() -> None:
    import importlib

    for name in ("openai_agents", "langgraph", "pydantic_ai"):
        module = importlib.import_module(f"otel_worklog.integrations.{name}")
        origin = importlib.import_module(f"otel_worklog._internal.integrations.{name}")
        assert module.__all__ == ["instrument", "uninstrument"]
        for attribute in module.__all__:
            assert getattr(module, attribute) is getattr(origin, attribute)
