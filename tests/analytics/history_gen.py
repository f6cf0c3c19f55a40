"""A realistic multi-bot history played through the public API, with known anomalies.

Several hundred workflows (nanobot coordinating researcher, coder and reviewer) on a fake clock that
the detector reads; the watchdog pass is run by hand whenever the clock moves, as the thread would.
Normal work is paced so that no detector should fire on it: tool calls at least 10 s apart, the
same error from one bot at most once per workflow and a workflow every 4+ minutes, at most one
low-confidence decision in a row, sessions far under the cost and token thresholds, and some
activity in every bot span at least once a minute. Then anomalies are planted at known workflows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import trace

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline.detectors import DetectorProcessor

BOTS = ("researcher", "coder", "reviewer")
PROJECTS = ("#project-api", "#project-web", "#project-data", "#general")
NORMAL_ERRORS = (
    ("ConnectionError", "connection reset by peer {n}"),
    ("FileNotFoundError", "no such file /srv/app/{n}/config.yaml"),
    ("ValueError", "bad JSON at line {n}"),
    ("PermissionError", "permission denied for user-{n}"),
)

ERROR_LOOP_AT = (50, 200)
TOOL_LOOP_AT = 80
STUCK_AT = 150
COST_SPIKE_AT = (100, 250)
TOKEN_SPIKE_AT = 275
LOW_CONFIDENCE_AT = 30


@dataclass
class Played:
    """What was played: the expected alerts as (kind, bot or None, workflow index)."""

    expected: set[tuple[str, str | None, int]] = field(default_factory=set)
    trace_ids: dict[int, str] = field(default_factory=dict)
    workspaces: dict[int, str] = field(default_factory=dict)


class _Tools:
    def __init__(self, clock: Callable[[float], None]) -> None:
        self.advance = clock
        self.fail_with: tuple[str, str] | None = None
        self.usage: tuple[int, int, float] = (0, 0, 0.0)
        self.step: float | None = None

    def _work(self, seconds: float) -> None:
        self.advance(self.step if self.step is not None else seconds)
        span = trace.get_current_span()
        tokens_in, tokens_out, cost = self.usage
        span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, tokens_in)
        span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, tokens_out)
        span.set_attribute(sc.WORKLOG_COST, cost)
        if self.fail_with is not None:
            kind, message = self.fail_with
            self.fail_with = None
            raise {
                "ConnectionError": ConnectionError,
                "FileNotFoundError": FileNotFoundError,
                "ValueError": ValueError,
                "PermissionError": PermissionError,
                "AssertionError": AssertionError,
                "TimeoutError": TimeoutError,
            }[kind](message)


def play(
    detector: DetectorProcessor, clock_advance: Callable[[float], None], *, workflows: int = 300, seed: int = 7
) -> Played:
    rng = random.Random(seed)
    played = Played()

    def advance(seconds: float) -> None:
        # What the watchdog thread does every few seconds, without waiting for it: a pass notices
        # new entries when they happen, then time moves on.
        detector.tick()
        clock_advance(seconds)
        detector.tick()

    tools = _Tools(advance)

    @wl.tool(name="search")
    def search(query: str) -> str:
        tools._work(10)
        return "found"

    @wl.tool(name="read_file")
    def read_file(path: str) -> str:
        tools._work(10)
        return "text"

    @wl.tool(name="write_file")
    def write_file(path: str) -> None:
        tools._work(12)

    @wl.tool(name="run_tests")
    def run_tests() -> str:
        tools._work(15)
        return "ok"

    per_bot: dict[str, tuple[Callable[..., object], Callable[..., object]]] = {
        "researcher": (search, read_file),
        "coder": (write_file, run_tests),
        "reviewer": (read_file, run_tests),
    }

    def call(fn: Callable[..., object], *args: object) -> None:
        try:
            fn(*args)
        except Exception:
            wl.correction("Retrying differently after the failure")

    for index in range(workflows):
        workspace = f"{PROJECTS[index % len(PROJECTS)]}"
        team = ["nanobot", *BOTS]
        played.workspaces[index] = workspace
        tools.usage = (800, 200, 0.01)
        with wl.workspace(workspace, type="project", participants=team, query=f"task {index}: build the API"):
            played.trace_ids[index] = format(trace.get_current_span().get_span_context().trace_id, "032x")
            with wl.bot("nanobot", role="coordinator"):
                wl.decision("Splitting the work", confidence=0.9)
                advance(20)
                handoff = wl.handoff("researcher", reason="research first")
            previous = handoff
            for bot in BOTS:
                with wl.bot(bot, handoff=previous):
                    wl.decision(f"{bot} starts", confidence=0.9)
                    first, second = per_bot[bot]
                    if rng.random() < 0.15:
                        kind, message = NORMAL_ERRORS[rng.randrange(len(NORMAL_ERRORS))]
                        tools.fail_with = (kind, message.format(n=rng.randrange(1000)))
                    call(first, "x")
                    advance(10)
                    if rng.random() < 0.3:
                        wl.decision("Not sure about this", confidence=0.4)  # one low, never two in a row
                    call(second, "y")
                    wl.decision(f"{bot} done", confidence=0.85)
                    if index == LOW_CONFIDENCE_AT and bot == "coder":
                        for _ in range(3):
                            advance(5)
                            wl.decision("Guessing the schema", confidence=0.3)
                        played.expected.add(("low_confidence_streak", "coder", index))
                        wl.decision("Confirmed with the user", confidence=0.95)
                    if index in ERROR_LOOP_AT and bot == "coder":
                        for attempt in range(5):
                            tools.fail_with = ("AssertionError", f"test_{attempt} failed in /tmp/build{attempt}/t.py")
                            call(run_tests)
                            advance(30)
                        played.expected.add(("error_loop", "coder", index))
                    if index == TOOL_LOOP_AT and bot == "researcher":
                        tools.step = 2.0  # calls 2 s apart
                        for _ in range(12):
                            call(search, "same query")
                        tools.step = None
                        played.expected.add(("tool_loop", "researcher", index))
                    if index == STUCK_AT and bot == "reviewer":
                        advance(200)
                        advance(200)  # 400 s with nothing new: stuck
                        played.expected.add(("stuck_agent", "reviewer", index))
                        wl.info("Back again")
                    if index in COST_SPIKE_AT and bot == "coder":
                        tools.usage = (20_000, 5_000, 1.75)
                        call(run_tests)
                        played.expected.add(("cost_anomaly", "coder", index))
                    if index == TOKEN_SPIKE_AT and bot == "researcher":
                        tools.usage = (450_000, 90_000, 0.2)
                        call(search, "huge context")
                        played.expected.add(("cost_anomaly", "researcher", index))
                    tools.usage = (800, 200, 0.01)
                    nxt = BOTS[BOTS.index(bot) + 1] if bot != BOTS[-1] else None
                    if nxt is not None:
                        previous = wl.handoff(nxt)
                advance(20)
        advance(60)
    return played
