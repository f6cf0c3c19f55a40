"""Step numbers stay unique and increasing in a session that crosses a process boundary.

The planner, in this process, hands off to a coder in a second Python process and goes on working
while the coder works, so both processes count on from the handoff and record the same numbers.
Both write one real SQLite store; ``otel-worklog explain`` (run as a user runs it, as a subprocess)
must list every step once, in increasing order, and point each reply at the entry it answers.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog._internal.query.readers import StoreReader
from tests.cli.scenario import REPO, run_cli

CHILD = Path(__file__).with_name("steps_child.py")


def _run_coder(carrier: dict[str, str], store: Path, reply_to: int) -> list[int]:
    done = subprocess.run(
        [sys.executable, str(CHILD), json.dumps(carrier), str(store), str(reply_to)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    steps: list[int] = json.loads(done.stdout.strip().splitlines()[-1])
    return steps


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, int]]:
    """The session; returns the store, its trace id and the step numbers each call returned."""
    store = tmp_path_factory.mktemp("steps") / "w.db"
    wl.configure(service_name="steps-planner", store=str(store))
    returned: dict[str, int] = {}
    try:
        with wl.workspace("#steps", type="project", participants=["planner", "coder"]) as ws:
            with wl.bot("planner"):
                returned["plan"] = wl.info("Plan: add a cache")
                handoff = wl.handoff("coder", artifacts=["plan.md"], reason="implement the cache")
                returned["handoff"] = handoff.step
                returned["waiting"] = wl.info("Waiting for the coder")
                picked, question, chose = _run_coder(handoff.carrier, store, returned["plan"])
                returned |= {"picked": picked, "question": question, "chose": chose}
                returned["answer"] = wl.message("64 MB", mentions=["@coder"], response_to=question)
                returned["recap"] = wl.message("Note: the coder asked while I waited", response_to=returned["waiting"])
                returned["done"] = wl.decision("The cache ships", confidence=0.95)
    finally:
        wl.shutdown()
    return store, ws.trace_id, returned


def test_both_processes_recorded_the_same_numbers(session: tuple[Path, str, dict[str, int]]) -> None:
    """The premise: each process counts on from the handoff, so recorded numbers collide."""
    store, trace_id, returned = session
    assert returned["picked"] == returned["handoff"] + 1 == returned["waiting"]
    with StoreReader(store) as reader:
        spans = reader.trace(trace_id)
    epochs = {span.attributes.get(sc.WORKLOG_STEP_EPOCH) for span in spans if span.bot_name == "coder"}
    assert len(epochs) == 1 and None not in epochs  # the coder's spans name their count
    assert all(sc.WORKLOG_STEP_EPOCH not in span.attributes for span in spans if span.bot_name == "planner")


def test_explain_lists_unique_increasing_steps_and_replies_point_right(
    session: tuple[Path, str, dict[str, int]],
) -> None:
    store, trace_id, _ = session
    done = run_cli("explain", trace_id, "--json", store=store)
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)["entries"]
    steps = [entry["step"] for entry in entries]
    assert steps == list(range(1, len(entries) + 1)), steps
    by_message = {entry["message"]: entry for entry in entries}
    by_step = {entry["step"]: entry["message"] for entry in entries}
    # The coder's question answers the planner's plan (a number from the other process).
    assert by_step[by_message["Which cache size?"]["response_to"]] == "Plan: add a cache"
    # The planner's answer quotes the number the coder's process returned: the coder's question.
    assert by_step[by_message["64 MB"]["response_to"]] == "Which cache size?"
    # The recap answers the planner's own step 3, not the coder's step recorded as 3 too.
    assert by_step[by_message["Note: the coder asked while I waited"]["response_to"]] == "Waiting for the coder"


def test_coordination_mode_lists_steps_in_order(session: tuple[Path, str, dict[str, int]]) -> None:
    store, trace_id, _ = session
    done = run_cli("explain", trace_id, "--mode", "coordination", store=store)
    assert done.returncode == 0, done.stderr
    steps = [int(match) for match in re.findall(r"^│\s+(\d+) │", done.stdout, flags=re.MULTILINE)]
    assert len(steps) >= 4 and steps == sorted(set(steps)), done.stdout
