"""Processes that fork (prefork servers, ``multiprocessing``): children never hang and lose nothing.

Each case runs in a process of its own (a real ``fork()``, real ``multiprocessing``, a real SQLite
store) and the spans are counted in the store afterwards.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.scenario import REPO
from tests.hardening.procs import child_env

pytestmark = [pytest.mark.timeout(300), pytest.mark.skipif(sys.platform == "win32", reason="fork() is POSIX")]


def run_module(module: str, *args: str, timeout: float = 240) -> str:
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=REPO,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def spans_of(store: Path, workspace_like: str) -> int:
    with sqlite3.connect(store) as conn:
        return int(
            conn.execute(
                "SELECT COUNT(*) FROM spans s JOIN traces t USING (trace_id) WHERE t.workspace_id LIKE ?",
                (workspace_like,),
            ).fetchone()[0]
        )


def test_children_forked_while_the_exporter_writes_all_shut_down_and_store_their_spans(tmp_path: Path) -> None:
    store = tmp_path / "worklog.db"
    result = json.loads(run_module("tests.hardening.fork_children", str(store), "40"))
    assert result["hung"] == 0, result
    assert len(result["shutdown_s"]) == 40
    assert max(result["shutdown_s"]) < 10, result  # no child needed its whole shutdown timeout
    assert spans_of(store, "#child-%") == 40 * 2  # each child's workspace and bot span


@pytest.mark.parametrize(("method", "sessions"), [("fork", 4), ("spawn", 1)])
def test_multiprocessing_workers_that_never_shut_down_still_store_their_spans(
    tmp_path: Path, method: str, sessions: int
) -> None:
    store = tmp_path / "worklog.db"
    assert run_module("tests.hardening.mp_children", method, str(store)) == str(sessions)
    assert spans_of(store, "#mp-%") == sessions * 8


def test_detectors_and_insight_delivery_work_in_a_forked_child(tmp_path: Path) -> None:
    seen = json.loads(run_module("tests.hardening.fork_features", str(tmp_path / "worklog.db")))
    assert seen["alert"] is True and seen["alerts"] == ["tool_loop looper"], seen  # raised by the child's watchdog
    assert seen["flushed"] is True
    assert seen["insights"] == ["Child's insight"], seen


def test_a_child_forked_during_a_long_write_neither_hangs_nor_touches_the_store(tmp_path: Path) -> None:
    seen = json.loads(run_module("tests.hardening.fork_mid_write", str(tmp_path / "worklog.db")))
    assert seen["shutdown_s"] < 5, seen
    assert seen["failed"] == 1, seen  # its one span, counted, with the reason
    assert any("SQLite cannot be used safely" in line and "1 failed" in line for line in seen["warnings"]), seen
    assert seen["integrity"] == "ok"
    assert seen["workspaces"] == ["#before", "#parent"]


def test_a_child_forked_while_another_thread_holds_the_recording_locks_records_and_exits(tmp_path: Path) -> None:
    seen = json.loads(run_module("tests.hardening.fork_held_locks", str(tmp_path / "worklog.db")))
    assert seen["status"] == 0, seen  # 3: the child hung on a lock it inherited held
    assert sum("invoke_agent child" in name for name in seen["spans"]) >= 2, seen  # the bot span, continued
    assert "workspace #parent" in seen["spans"], seen
