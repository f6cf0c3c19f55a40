"""A small multi-bot session written through the public API, shared by the CLI and view tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import otel_worklog as wl

REPO = Path(__file__).resolve().parents[2]
HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned2'\"> [red]not markup[/red]"
SECOND_REASON = "Need a human: which password policy?"


@wl.tool
def lookup(city: str) -> dict[str, Any]:
    return {"city": city, "temp": 21, "next_actions": ["tell_user"]}


@wl.tool
def flaky_write(path: str, attempt: int) -> str:
    if attempt == 1:
        raise ValueError("disk busy")
    return f"wrote {path}"


def fill_store(path: Path) -> dict[str, str]:
    """Two sessions in the store at ``path``; returns {"general": trace id, "project": trace id}."""
    wl.configure(service_name="cli-tests", store=str(path))
    ids: dict[str, str] = {}
    try:
        with wl.workspace("#general", type="open", participants=["nanobot"], query="weather in Paris?") as general:
            ids["general"] = general.trace_id
            with wl.bot("nanobot", role="coordinator"):
                wl.info("Simple query - classified as TIER_SIMPLE", category="routing", confidence=0.95)
                lookup("Paris")
                wl.decision("Answer directly with the forecast", confidence=0.93)
        with wl.workspace(
            "#project-x",
            type="project",
            participants=["nanobot", "researcher", "coder"],
            coordinator="nanobot",
            query="Refactor auth",
        ) as project:
            ids["project"] = project.trace_id
            with wl.bot("nanobot", role="coordinator"):
                ask = wl.message("@researcher please review the auth module", mentions=["@researcher"])
                h = wl.handoff("researcher", artifacts=["src/auth"], reason="security review")
            with wl.bot("researcher", handoff=h):
                wl.message("Found missing rate limiting", mentions=["@nanobot"], response_to=ask)
                wl.info(HOSTILE)
            with wl.bot("nanobot", role="coordinator"):
                wl.decision("Defaulting to 100 req/min rate limit", category="coordination", confidence=0.6)
            with wl.bot("coder"):
                try:
                    flaky_write("limiter.py", 1)
                except ValueError:
                    wl.correction("Retrying the write")
                flaky_write("limiter.py", 2)
            with wl.bot("nanobot", role="coordinator"):
                wl.escalate(SECOND_REASON, details={"options": "strict|passphrase"})
    finally:
        wl.shutdown()
    return ids


def run_cli(
    *args: str, store: Path | None = None, timeout: float = 60, columns: int = 200
) -> subprocess.CompletedProcess[str]:
    """``otel-worklog ARGS`` as a real subprocess, on a terminal ``columns`` wide."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("OTEL_WORKLOG_STORE", None)
    env["COLUMNS"] = str(columns)
    command = [sys.executable, "-m", "otel_worklog._internal.cli", *args]
    if store is not None:
        command += ["--store", str(store)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
