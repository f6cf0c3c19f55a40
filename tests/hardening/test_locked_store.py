"""A store locked by another process: the app never waits for it, and nothing is lost silently.

Another process takes the store's write lock (``BEGIN IMMEDIATE``, as any SQLite writer would) and
keeps it. The checks a user would make: ``shutdown()`` returns within its timeout, the spans it could
not write are counted in ``export_stats()`` and named in one warning, a lock longer than SQLite's own
wait is retried until it is released, and the app's own thread (ending a bot span that carries a
shareable insight, calling ``configure()`` on a fresh store) never waits for the lock. The times
asserted are hang checks with a generous margin, not speed checks.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal.query.readers import StoreReader
from tests.hardening.procs import MARGIN_S, lock_held, release, shutdown_within

pytestmark = pytest.mark.timeout(180)

TOOLS = 41  # with their workspace, 42 spans: the figure of the report


@wl.tool
def lookup(item: int) -> int:
    return item


def record_session(workspace: str = "#locked") -> int:
    """One workspace with TOOLS tool calls; returns the number of spans it makes."""
    with wl.workspace(workspace):
        for item in range(TOOLS):
            lookup(item)
    return TOOLS + 1


def existing_store(tmp_path: Path) -> Path:
    """A store that already holds one session, closed again (what an app finds on its second start)."""
    path = tmp_path / "worklog.db"
    wl.configure(store=str(path))
    record_session("#before")
    wl.shutdown()
    return path


def stored_workspaces(path: Path) -> list[str]:
    with StoreReader(path) as reader:
        return sorted(s.workspace_id or "" for s in reader.sessions(limit=100))


def test_shutdown_keeps_its_timeout_and_counts_what_it_could_not_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = existing_store(tmp_path)
    with lock_held(path, seconds=60):
        wl.configure(store=str(path))
        spans = record_session()
        with caplog.at_level(logging.WARNING, logger="otel_worklog"):
            shutdown_within(5)
    (stats,) = wl.export_stats()
    assert (stats.exported, stats.failed, stats.dropped, stats.queued) == (0, 0, 0, 0), stats
    assert stats.abandoned == spans, stats
    warnings = [r.getMessage() for r in caplog.records if "not exported" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert f"{spans} spans were not exported to StoreSpanExporter" in warnings[0]
    assert "shutdown deadline" in warnings[0]
    assert stored_workspaces(path) == ["#before"]  # nothing half-written


def test_force_flush_keeps_its_timeout_and_the_spans_wait(tmp_path: Path) -> None:
    path = existing_store(tmp_path)
    with lock_held(path, seconds=60):
        wl.configure(store=str(path))
        spans = record_session()
        start = time.monotonic()
        assert wl.force_flush(timeout_s=1) is False
        elapsed = time.monotonic() - start
        (stats,) = wl.export_stats()
    assert elapsed < 1 + MARGIN_S, f"force_flush(timeout_s=1) took {elapsed:.1f} s"
    assert (stats.queued, stats.exported, stats.failed, stats.abandoned) == (spans, 0, 0, 0), stats
    assert wl.force_flush(timeout_s=30) is True  # the lock is gone: the same spans are written now
    assert wl.export_stats()[0].exported == spans
    assert stored_workspaces(path) == ["#before", "#locked"]


def test_a_lock_held_through_many_busy_waits_is_retried_until_written(tmp_path: Path) -> None:
    """The lock outlasts SQLite's wait many times over; the batch waits and is written once it is free."""
    path = existing_store(tmp_path)
    with lock_held(path, seconds=60) as holder:
        wl.configure(store=str(path))
        spans = record_session()
        time.sleep(4)  # sixteen of the exporter's busy waits
        assert wl.export_stats()[0].failed == 0
        release(holder)
        assert wl.force_flush(timeout_s=30) is True
    (stats,) = wl.export_stats()
    assert (stats.exported, stats.failed, stats.dropped) == (spans, 0, 0), stats
    assert stored_workspaces(path) == ["#before", "#locked"]


def test_ending_a_bot_with_a_shareable_insight_never_waits_for_the_store(tmp_path: Path) -> None:
    path = existing_store(tmp_path)
    received: list[str] = []
    with lock_held(path, seconds=60) as holder:
        wl.configure(store=str(path))
        wl.on_insight("coder", lambda insight: received.append(insight.text))
        start = time.monotonic()
        with wl.workspace("#general", participants=["nanobot", "coder"]), wl.bot("nanobot"):
            wl.insight("Project uses PostgreSQL, not MySQL", category="domain_knowledge", confidence=0.95)
        elapsed = time.monotonic() - start
        assert received == []  # it waits for the store, on the delivery thread
        release(holder)
    assert elapsed < MARGIN_S, f"the bot block took {elapsed:.1f} s on the app's thread"
    assert wl.force_flush(timeout_s=60) is True
    assert received == ["Project uses PostgreSQL, not MySQL"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT bot FROM analytics_insight_deliveries").fetchall() == [("coder",)]


def test_configure_on_a_fresh_store_never_waits_for_its_lock(tmp_path: Path) -> None:
    """Another process has just created the file and holds its lock: configure() returns at once."""
    path = tmp_path / "fresh" / "worklog.db"
    path.parent.mkdir()
    with lock_held(path, seconds=60) as holder:
        start = time.monotonic()
        wl.configure(store=str(path))
        record_session()
        elapsed = time.monotonic() - start
        release(holder)
    assert elapsed < MARGIN_S, f"configure() and the session took {elapsed:.1f} s"
    assert wl.force_flush(timeout_s=30) is True
    assert stored_workspaces(path) == ["#locked"]
