"""Shared insights: scoped delivery, once each, recorded in SQLite so a restart does not repeat it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline import insights as ins
from otel_worklog._internal.record import insights as insight_model
from otel_worklog._internal.store import ledger
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs

BOTS = ("nanobot", "researcher", "coder", "security_auditor", "designer")


def _collect(into: list[str]) -> Callable[[insight_model.Insight], None]:
    return lambda insight: into.append(insight.text)


def _register(received: dict[str, list[str]]) -> None:
    for bot in BOTS:
        wl.on_insight(bot, _collect(received.setdefault(bot, [])))


def _processor(worklog: WorklogCapture, db: Path | None) -> ins.InsightProcessor:
    """Reconfigure with the store at ``db`` (off when None); returns the one insight processor configure made."""
    worklog.configure(store=str(db) if db is not None else False)
    active = list(ins._processors)
    assert len(active) == 1
    return active[0]


def _seed_examples() -> None:
    """The seeds' four Learning Exchange examples, plus ones that must not be shared."""
    with wl.workspace("#general", type="open", participants=["nanobot", "researcher", "coder"]), wl.bot("nanobot"):
        wl.insight("User prefers short summaries", category="user_preference", confidence=0.92)
        wl.insight("Maybe the user likes emoji", category="user_preference", confidence=0.6)  # too unsure
        wl.insight("Lunch is at noon", category="gossip", confidence=0.99)  # not a shareable category
    with wl.workspace("#project-backend", type="project", participants=["nanobot", "coder"]), wl.bot("nanobot"):
        wl.insight("Project uses PostgreSQL, not MySQL", category="domain_knowledge", confidence=0.95, scope="project")
    with wl.workspace("#security", type="project", participants=["nanobot"]), wl.bot("nanobot"):
        wl.insight(
            "Never hardcode secrets - always use vault",
            category="error_solution",
            confidence=0.98,
            scope="team",
            applies_to=["security_auditor", "coder"],
        )
    with wl.workspace("@researcher", type="direct", participants=["researcher"]), wl.bot("nanobot"):
        wl.insight(
            "Always cite peer-reviewed papers, not blogs",
            category="research_finding",
            confidence=0.87,
            scope="bot_specific",
            applies_to=["researcher"],
        )


EXPECTED = {
    "nanobot": [],  # it recorded them all: it is never sent its own insights
    "researcher": ["User prefers short summaries", "Always cite peer-reviewed papers, not blogs"],
    "coder": [
        "User prefers short summaries",
        "Project uses PostgreSQL, not MySQL",
        "Never hardcode secrets - always use vault",
    ],
    "security_auditor": ["User prefers short summaries", "Never hardcode secrets - always use vault"],
    "designer": ["User prefers short summaries"],
}


def test_scoped_delivery_follows_the_applicability_rule(worklog: WorklogCapture, tmp_path: Path) -> None:
    _processor(worklog, tmp_path / "worklog.db")
    received: dict[str, list[str]] = {}
    _register(received)
    _seed_examples()
    assert wl.force_flush()  # delivery runs on the insight processor's own thread
    assert received == EXPECTED


def test_duplicates_are_delivered_once(worklog: WorklogCapture) -> None:
    _processor(worklog, None)
    received: dict[str, list[str]] = {}
    _register(received)
    for bot in ("researcher", "coder"):
        with wl.workspace("#general"), wl.bot(bot):
            wl.insight("User prefers  short summaries", category="user_preference", confidence=0.9)
            wl.insight("user prefers short summaries", category="user_preference", confidence=0.95)
    assert wl.force_flush()
    assert received["designer"] == ["User prefers  short summaries"]
    assert received["coder"] == ["User prefers  short summaries"]  # its own copy is a duplicate
    assert received["researcher"] == []  # the kept one came from researcher
    assert received["nanobot"] == ["User prefers  short summaries"]


def test_delivery_survives_a_restart_and_late_bots_catch_up(worklog: WorklogCapture, tmp_path: Path) -> None:
    db = tmp_path / "store" / "worklog.db"
    first = _processor(worklog, db)
    received: dict[str, list[str]] = {}
    wl.on_insight("coder", lambda i: received.setdefault("coder", []).append(i.text))
    _seed_examples()
    assert wl.force_flush()
    assert received["coder"] == EXPECTED["coder"]
    wl.shutdown()
    assert first not in ins._processors
    ins.clear_insight_callbacks()

    # A new process: same store file, callbacks registered again, the same insights recorded again.
    again: dict[str, list[str]] = {}
    second = _processor(worklog, db)
    wl.on_insight("coder", lambda i: again.setdefault("coder", []).append(i.text))
    wl.on_insight("researcher", lambda i: again.setdefault("researcher", []).append(i.text))
    assert wl.force_flush()
    assert again == {"researcher": EXPECTED["researcher"]}  # missed while away: delivered on registration
    _seed_examples()
    assert wl.force_flush()
    assert again == {"researcher": EXPECTED["researcher"]}  # nothing twice
    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"SELECT COUNT(*) FROM {ledger.TABLE_DELIVERIES}").fetchone()
    assert rows == (len(EXPECTED["coder"]) + len(EXPECTED["researcher"]),)
    assert second in ins._processors


def test_a_raising_callback_does_not_break_the_app(worklog: WorklogCapture, caplog: pytest.LogCaptureFixture) -> None:
    _processor(worklog, None)

    def broken(insight: ins.Insight) -> None:
        raise RuntimeError("boom")

    wl.on_insight("coder", broken)
    with wl.workspace("#general"), wl.bot("nanobot"):
        wl.insight("User prefers short summaries", category="user_preference", confidence=0.92)
        wl.info("still running")
    assert wl.force_flush()
    assert "on_insight callback" in caplog.text
    assert attrs(worklog.span("invoke_agent nanobot").events[-1])[sc.WORKLOG_MESSAGE] == "still running"


def test_configure_wires_the_processor(worklog: WorklogCapture) -> None:
    received: list[str] = []
    wl.on_insight("coder", lambda i: received.append(i.text))
    with wl.workspace("#general"), wl.bot("nanobot"):
        wl.insight("User prefers short summaries", category="user_preference", confidence=0.92)
    assert wl.force_flush()
    assert received == ["User prefers short summaries"]


def test_rule_without_spans() -> None:
    bots = {"#project-backend": ["nanobot", "coder"], "#general": ["nanobot"]}
    assert insight_model.recipients("general", (), "#x", bots) is None
    assert insight_model.recipients("project", (), "#project-backend", bots) == frozenset({"nanobot", "coder"})
    assert insight_model.recipients("project", ("#project-backend", "designer"), "#x", bots) == frozenset(
        {"nanobot", "coder", "designer"}
    )
    assert insight_model.recipients("team", ("security_auditor",), "#x", bots) == frozenset({"security_auditor"})
    assert insight_model.recipients("bot_specific", ("researcher",), "#general", bots) == frozenset({"researcher"})
    assert insight_model.recipients("bot_specific", (), "#general", bots) == frozenset()
