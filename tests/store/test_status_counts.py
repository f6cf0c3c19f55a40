"""What the store counts per session for the status rule, at ingest and when it upgrades an older store.

A resolution is an event on the bot's span, which ends after the escalation span: it usually lands in
a later export batch, sometimes in an earlier one (another process's batch), sometimes twice (a retried
batch). Each escalation must be counted resolved exactly once, whatever the order.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import Status, StatusCode

from otel_worklog import semconv as sc
from otel_worklog._internal.query.readers import StoreReader
from otel_worklog._internal.query.summary import summarize_trace
from otel_worklog._internal.span_kinds import Kind
from otel_worklog._internal.store.exporter import StoreSpanExporter
from otel_worklog._internal.store.retention import prune
from otel_worklog._internal.store.schema import SCHEMA_VERSION, TABLE_RESOLUTIONS, schema_version
from tests.sdk_spans import finished_spans


def _session(*, resolve: bool = True, failing_tool: bool = False, failing_bot: bool = False) -> list[ReadableSpan]:
    """workspace > bot > (tool, escalation), the bot resolving the escalation after it; SDK spans."""
    base = {sc.WORKSPACE_ID: "#s"}
    with (
        finished_spans() as (tracer, spans),
        tracer.start_as_current_span("workspace #s", attributes={**base, sc.WORKSPACE_TYPE: "project"}),
    ):
        bot = tracer.start_span("invoke_agent a", attributes={**base, sc.BOT_NAME: "a"})
        with trace.use_span(bot, end_on_exit=False):
            tool = tracer.start_span("execute_tool t", attributes={**base, sc.GEN_AI_OPERATION_NAME: "execute_tool"})
            if failing_tool:
                tool.set_status(Status(StatusCode.ERROR, "boom"))
            tool.end()
            escalation = tracer.start_span("escalation", attributes={**base, sc.WORKLOG_ESCALATION: True})
            escalation.end()
            if resolve:
                span_id = trace.format_span_id(escalation.get_span_context().span_id)
                bot.add_event(sc.EVENT_ESCALATION_RESOLVED, {sc.WORKLOG_ESCALATION_SPAN_ID: span_id})
            bot.add_event(sc.event_name("info"), {sc.WORKLOG_LEVEL: "info", sc.WORKLOG_MESSAGE: "done"})
        if failing_bot:
            bot.set_status(Status(StatusCode.ERROR, "gave up"))
        bot.end()
    return spans  # in the order they ended


def _status(path: Path) -> tuple[str, int, int]:
    with StoreReader(path) as reader:
        (session,) = reader.sessions()
        return session.status, session.escalations, session.resolved_escalations


@pytest.mark.parametrize(
    "batches",
    [
        pytest.param(lambda s: [s], id="one batch"),
        pytest.param(lambda s: [s[:2], s[2:]], id="escalation first, resolution in a later batch"),
        pytest.param(lambda s: [s[2:], s[:2]], id="resolution first, escalation in a later batch"),
        pytest.param(lambda s: [s[:2], s[2:], s[2:], s], id="every batch exported again"),
        pytest.param(lambda s: [[x] for x in reversed(s)], id="span by span, last first"),
    ],
)
def test_an_escalation_is_resolved_once_in_any_batch_order(
    tmp_path: Path, batches: Callable[[list[ReadableSpan]], list[list[ReadableSpan]]]
) -> None:
    spans = _session()
    assert [s.name for s in spans[:2]] == ["execute_tool t", "escalation"]
    exporter = StoreSpanExporter(tmp_path / "w.db")
    for batch in batches(spans):
        exporter.export(batch)
    assert _status(tmp_path / "w.db") == ("ok", 1, 1)


def test_an_open_escalation_stays_open_until_resolved(tmp_path: Path) -> None:
    exporter = StoreSpanExporter(tmp_path / "w.db")
    exporter.export(_session(resolve=False))
    assert _status(tmp_path / "w.db") == ("escalated", 1, 0)


@pytest.mark.parametrize(
    ("session", "status"),
    [
        ({"failing_tool": True}, "recovered"),
        ({"failing_bot": True}, "error"),
        ({"failing_tool": True, "resolve": False}, "escalated"),
    ],
)
def test_the_store_and_a_whole_trace_count_alike(tmp_path: Path, session: dict[str, bool], status: str) -> None:
    spans = _session(**session)
    StoreSpanExporter(tmp_path / "w.db").export(spans)
    with StoreReader(tmp_path / "w.db") as reader:
        (stored,) = reader.sessions()
        computed = summarize_trace(reader.trace(stored.trace_id))
    assert stored.status == status
    assert computed == stored  # the Tempo path counts the same fields the same way


def _downgrade_to_v3(path: Path) -> None:
    """What a store written before schema v4 looks like: no status counts, no resolutions table (nor the
    spans' kinds of v5)."""
    conn = sqlite3.connect(path)
    for column in ("failed_bots", "error_entries", "resolved_escalations"):
        conn.execute(f"ALTER TABLE traces DROP COLUMN {column}")
    conn.execute("ALTER TABLE spans DROP COLUMN part")
    conn.execute(f"DROP TABLE {TABLE_RESOLUTIONS}")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()


def test_upgrading_an_older_store_backfills_what_ingest_would_have_counted(tmp_path: Path) -> None:
    fresh, old = tmp_path / "fresh.db", tmp_path / "old.db"
    sessions = [
        _session(),
        _session(resolve=False),
        _session(failing_tool=True),
        _session(failing_bot=True),
        _session(failing_tool=True, failing_bot=True, resolve=False),
    ]
    for path in (fresh, old):
        exporter = StoreSpanExporter(path)
        for spans in sessions:
            exporter.export(spans[:2])  # escalations in one batch, their resolutions in a later one
            exporter.export(spans[2:])
        exporter.shutdown()
    with sqlite3.connect(old) as conn:  # an error entry too, as an older writer stored it
        conn.execute(
            "INSERT INTO events (span_rowid, name, time_ns, level, attributes)"
            " SELECT id, ?, ?, 'error', '{}' FROM spans WHERE name = 'invoke_agent a' ORDER BY id LIMIT 1",
            (sc.event_name("error"), time.time_ns()),
        )
    _downgrade_to_v3(old)
    with StoreReader(old) as reader:
        upgraded = sorted(reader.sessions(), key=lambda s: s.trace_id)
    assert schema_version(sqlite3.connect(old)) == SCHEMA_VERSION
    with StoreReader(fresh) as reader:
        expected = sorted(reader.sessions(), key=lambda s: s.trace_id)
    assert sorted(s.status for s in expected) == ["error", "escalated", "escalated", "ok", "recovered"]
    first = min(upgraded, key=lambda s: s.start_ns)
    assert first.error_entries == 1 and first.status == "error"  # the inserted error entry counts
    assert [s for s in upgraded if s is not first] == [s for s in expected if s.trace_id != first.trace_id]
    # ...and the upgraded store keeps counting resolutions that arrive later
    late = _session()
    exporter = StoreSpanExporter(old)
    exporter.export(late[:2])
    exporter.export(late[2:])
    with StoreReader(old) as reader:
        assert {s.trace_id: s.status for s in reader.sessions()}[late[0].context.trace_id.to_bytes(16).hex()] == "ok"


def test_pruning_a_session_drops_its_resolutions(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    StoreSpanExporter(path).export(_session())
    conn = sqlite3.connect(path, isolation_level=None)
    assert conn.execute(f"SELECT COUNT(*) FROM {TABLE_RESOLUTIONS}").fetchone()[0] == 1
    prune(conn, older_than_ns=time.time_ns() + 10**12)
    assert conn.execute(f"SELECT COUNT(*) FROM {TABLE_RESOLUTIONS}").fetchone()[0] == 0


def test_each_span_keeps_its_kind_and_an_older_store_gets_them_on_upgrade(tmp_path: Path) -> None:
    fresh, old = tmp_path / "fresh.db", tmp_path / "old.db"
    for path in (fresh, old):
        StoreSpanExporter(path).export(_session(failing_tool=True))
    with sqlite3.connect(old) as conn:  # what a v4 store looks like: no kinds
        conn.execute("ALTER TABLE spans DROP COLUMN part")
        conn.execute("PRAGMA user_version = 4")
    kinds = []
    for path in (fresh, old):
        with StoreReader(path) as reader:
            (session,) = reader.sessions()
            kinds.append([(span.name, span.known_part) for span in reader.trace(session.trace_id)])
    assert (
        kinds[0]
        == kinds[1]
        == [
            ("workspace #s", Kind.WORKSPACE),
            ("invoke_agent a", Kind.BOT),
            ("execute_tool t", Kind.TOOL),
            ("escalation", Kind.ESCALATION),
        ]
    )
    assert schema_version(sqlite3.connect(old)) == SCHEMA_VERSION
