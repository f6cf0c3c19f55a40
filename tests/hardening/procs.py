"""Other processes for the hardening tests: a lock holder, and Python scripts run as a user would run them."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import otel_worklog as wl
from tests.cli.scenario import REPO

#: Margin over a timeout before a call counts as hung (a hang check, not a speed check).
MARGIN_S = 2.0

#: Variables of the test environment that would change where a child process sends its spans.
_OTEL_VARIABLES = ("OTEL_",)


def child_env(**extra: str) -> dict[str, str]:
    """This environment without OTEL_* settings, with the repository importable, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_OTEL_VARIABLES)}
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra)
    return env


@contextlib.contextmanager
def lock_held(store: Path, seconds: float = 60.0) -> Iterator[subprocess.Popen[str]]:
    """Another process holds ``store``'s write lock for the block (at most ``seconds``)."""
    holder = subprocess.Popen(
        [sys.executable, "-m", "tests.hardening.lock_holder", str(store), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        release(holder)


def release(holder: subprocess.Popen[str]) -> None:
    """Let the lock holder commit and exit (idempotent)."""
    if holder.poll() is None:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def run_script(code: str, *, env: Mapping[str, str] | None = None, timeout: float = 120) -> Run:
    """Run ``code`` in a fresh interpreter, timed from start to exit."""
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else child_env(),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr, time.monotonic() - start)


def shutdown_within(timeout_s: float) -> float:
    """``wl.shutdown(timeout_s)``, checked to return within its timeout (plus :data:`MARGIN_S`); its seconds."""
    start = time.monotonic()
    wl.shutdown(timeout_s=timeout_s)
    elapsed = time.monotonic() - start
    assert elapsed < timeout_s + MARGIN_S, f"shutdown(timeout_s={timeout_s}) took {elapsed:.1f} s"
    return elapsed
