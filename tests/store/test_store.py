"""The embedded SQLite store: real SQLite files, the real SDK and real processes."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link

from otel_worklog._internal import semconv as sc
from otel_worklog._internal import settings as config_params
from otel_worklog._internal.exceptions import StoreNotFound, StoreTooNew, TraceNotFound
from otel_worklog._internal.query.readers import StoreReader, open_reader
from otel_worklog._internal.store import (
    SCHEMA_VERSION,
    create_store_exporter,
    default_store_path,
    resolve_retention_days,
    resolve_store_path,
)
from otel_worklog._internal.store.exporter import StoreSpanExporter
from otel_worklog._internal.store.schema import MIGRATIONS, schema_version
from tests.cli.scenario import REPO, run_cli

DAY_NS = 86_400 * 10**9


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("OTEL_WORKLOG_STORE", None)
    return env


def _spans(*, start_ns: int | None = None, workspace: str = "#w", message: str = "hello world") -> list[ReadableSpan]:
    """A small real trace (workspace > bot > tool, an event, a link) made by the SDK."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    t = start_ns or time.time_ns()
    root = tracer.start_span(
        f"workspace {workspace}",
        attributes={sc.WORKSPACE_ID: workspace, sc.WORKSPACE_TYPE: "project", sc.WORKLOG_QUERY: "q?"},
        start_time=t,
    )
    ctx = trace.set_span_in_context(root)
    bot = tracer.start_span(
        "invoke_agent a", context=ctx, attributes={sc.WORKSPACE_ID: workspace, sc.BOT_NAME: "a"}, start_time=t + 1
    )
    bot.add_event(
        sc.event_name("decision"),
        {sc.WORKLOG_LEVEL: "decision", sc.WORKLOG_MESSAGE: message, sc.WORKLOG_STEP: 1, sc.WORKLOG_CONFIDENCE: 0.5},
        timestamp=t + 2,
    )
    esc = tracer.start_span(
        "escalation",
        context=trace.set_span_in_context(bot),
        attributes={sc.WORKSPACE_ID: workspace, sc.BOT_NAME: "a", sc.WORKLOG_ESCALATION: True},
        links=[Link(bot.get_span_context(), {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF})],
        start_time=t + 3,
    )
    esc.end(end_time=t + 4)
    bot.end(end_time=t + 5)
    root.end(end_time=t + 6)
    return list(memory.get_finished_spans())


class TestRoundTrip:
    def test_everything_comes_back(self, tmp_path: Path) -> None:
        path = tmp_path / "s.db"
        exporter = StoreSpanExporter(path)
        spans = _spans()
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        exporter.shutdown()
        with StoreReader(path) as reader:
            trace_id = format(spans[0].context.trace_id, "032x")
            back = reader.trace(trace_id)
            assert [s.name for s in back] == ["workspace #w", "invoke_agent a", "escalation"]
            bot = back[1]
            assert bot.parent_span_id == back[0].span_id
            assert bot.events[0].attributes[sc.WORKLOG_CONFIDENCE] == 0.5
            assert back[2].links[0].span_id == bot.span_id
            assert back[2].links[0].attributes[sc.WORKLOG_LINK_TYPE] == sc.LINK_TYPE_HANDOFF
            assert back[0].resource["telemetry.sdk.name"] == "opentelemetry"
            (session,) = reader.sessions()
            assert (session.workspace_id, session.workspace_type, session.query) == ("#w", "project", "q?")
            assert (session.span_count, session.escalations, session.bots) == (3, 1, ("a",))
            assert reader.escalations()[0].span_id == back[2].span_id
            assert reader.search_entries("hello")[0].event.attributes[sc.WORKLOG_STEP] == 1
            assert reader.trace(trace_id[:10])[0].trace_id == trace_id  # a unique prefix works
            with pytest.raises(TraceNotFound):
                reader.trace("f" * 32)

    def test_reexported_batch_is_not_counted_twice(self, tmp_path: Path) -> None:
        path = tmp_path / "s.db"
        exporter = StoreSpanExporter(path)
        spans = _spans()
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        assert exporter.export(spans + _spans(workspace="#other")) == SpanExportResult.SUCCESS
        with StoreReader(path) as reader:
            counts = {s.workspace_id: s.span_count for s in reader.sessions()}
            assert counts == {"#w": 3, "#other": 3}
            assert len(list(reader.iter_spans())) == 6
            assert len(reader.search_entries("hello")) == 2

    def test_reader_never_creates_a_store(self, tmp_path: Path) -> None:
        with pytest.raises(StoreNotFound):
            StoreReader(tmp_path / "missing.db")
        assert not (tmp_path / "missing.db").exists()

    def test_wal_mode(self, tmp_path: Path) -> None:
        path = tmp_path / "s.db"
        StoreSpanExporter(path).export(_spans())
        assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class TestSettings:
    def test_registered_in_the_one_registry(self) -> None:
        assert config_params.REGISTRY["store"].env == "OTEL_WORKLOG_STORE"
        assert config_params.REGISTRY["retention_days"].env == "OTEL_WORKLOG_RETENTION_DAYS"

    def test_store_precedence(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("OTEL_WORKLOG_STORE", raising=False)
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
        assert resolve_store_path() == tmp_path / "xdg" / "otel-worklog" / "worklog.db" == default_store_path()
        monkeypatch.setenv("OTEL_WORKLOG_STORE", str(tmp_path / "env.db"))
        assert resolve_store_path() == tmp_path / "env.db"
        assert resolve_store_path(tmp_path / "arg.db") == tmp_path / "arg.db"
        assert resolve_store_path(str(tmp_path / "arg.db")) == tmp_path / "arg.db"
        for off in (False, None, "none", "NONE"):
            assert resolve_store_path(off) is None
            assert create_store_exporter(off) is None
        monkeypatch.setenv("OTEL_WORKLOG_STORE", "none")
        assert resolve_store_path() is None
        assert create_store_exporter() is None
        assert isinstance(create_store_exporter(tmp_path / "x.db"), StoreSpanExporter)

    def test_retention_falls_back_on_a_bad_value(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setenv("OTEL_WORKLOG_RETENTION_DAYS", "soon")
        with caplog.at_level(logging.WARNING, logger="otel_worklog"):
            assert resolve_retention_days() == 30
        assert "OTEL_WORKLOG_RETENTION_DAYS" in caplog.text
        monkeypatch.setenv("OTEL_WORKLOG_RETENTION_DAYS", "0")
        assert resolve_retention_days() == 0
        assert resolve_retention_days(7) == 7

    def test_reader_honours_the_setting(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        path = tmp_path / "env.db"
        StoreSpanExporter(path).export(_spans())
        monkeypatch.setenv("OTEL_WORKLOG_STORE", str(path))
        reader = open_reader()
        assert isinstance(reader, StoreReader) and reader.path == path
        reader.close()


class TestRetention:
    def test_exporter_prunes_old_sessions(self, tmp_path: Path) -> None:
        path = tmp_path / "s.db"
        StoreSpanExporter(path, retention_days=0).export(_spans(start_ns=time.time_ns() - 10 * DAY_NS, message="old"))
        exporter = StoreSpanExporter(path, retention_days=3)
        exporter.export(_spans(message="fresh", workspace="#new"))
        with StoreReader(path) as reader:
            assert [s.workspace_id for s in reader.sessions()] == ["#new"]
            assert reader.search_entries("old") == []
            assert len(reader.search_entries("fresh")) == 1
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 1
        assert conn.execute("SELECT COUNT(*) FROM links").fetchone()[0] == 1
        conn.execute("INSERT INTO events_fts(events_fts) VALUES('integrity-check')")  # raises if the index drifted


class TestSchema:
    def test_older_schema_store_opens_and_upgrades(self, tmp_path: Path) -> None:
        path = tmp_path / "v1.db"
        conn = sqlite3.connect(path, isolation_level=None)
        for statement in MIGRATIONS[0]:
            assert isinstance(statement, str)  # version 1 is plain SQL
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        # What a version-1 writer stored: spans and events only, no summaries, no search index.
        conn.execute(
            "INSERT INTO spans (id, trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code,"
            " workspace_id, bot_name, escalation, error, attributes) VALUES"
            " (1, ?, 'aaaaaaaaaaaaaaaa', NULL, 'workspace #old', 'INTERNAL', ?, ?, 'UNSET', '#old', NULL, 0, 0, ?),"
            " (2, ?, 'bbbbbbbbbbbbbbbb', 'aaaaaaaaaaaaaaaa', 'escalation', 'INTERNAL', ?, ?, 'ERROR', '#old', 'x',"
            " 1, 1, '{}')",
            (
                "1" * 32,
                time.time_ns() - 1000,
                time.time_ns(),
                '{"workspace.id": "#old", "workspace.type": "open", "worklog.query": "legacy"}',
                "1" * 32,
                time.time_ns() - 900,
                time.time_ns() - 800,
            ),
        )
        conn.execute(
            "INSERT INTO events (span_rowid, name, time_ns, level, step, message, attributes) VALUES"
            " (2, 'worklog.decision', 1, 'decision', 1, 'legacy decision text', '{}')"
        )
        conn.close()
        with StoreReader(path) as reader:
            (session,) = reader.sessions()
            assert (session.workspace_id, session.workspace_type, session.query) == ("#old", "open", "legacy")
            assert (session.span_count, session.escalations, session.errors, session.bots) == (2, 1, 1, ("x",))
            assert reader.search_entries("legacy")[0].bot_name == "x"
            assert len(reader.trace("1" * 32)) == 2
        assert schema_version(sqlite3.connect(path)) == SCHEMA_VERSION
        # and the upgraded store keeps taking new spans
        assert StoreSpanExporter(path).export(_spans()) == SpanExportResult.SUCCESS

    def test_newer_schema_is_refused_not_misread(self, tmp_path: Path) -> None:
        path = tmp_path / "future.db"
        StoreSpanExporter(path).export(_spans())
        sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        with pytest.raises(StoreTooNew, match="newer otel-worklog"):
            StoreReader(path)
        assert StoreSpanExporter(path).export(_spans()) == SpanExportResult.FAILURE


@pytest.mark.slow
def test_four_processes_write_at_once_and_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    go = tmp_path / "go"
    env = _env()
    env["OTEL_WORKLOG_MAX_EXPORT_BATCH_SIZE"] = "50"  # many small transactions: maximum contention
    env["OTEL_WORKLOG_SCHEDULE_DELAY_MS"] = "5"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store.writer_proc", str(path), tag, "150", str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        for tag in ("a", "b", "c", "d")
    ]
    time.sleep(1.0)  # let every process import and wait at the gate
    go.touch()
    made = 0
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        made += int(out.strip().splitlines()[-1])
    assert made == 4 * 150 * 12
    with StoreReader(path) as reader:
        sessions = reader.sessions(limit=10_000)
        assert len(sessions) == 600
        assert sum(s.span_count for s in sessions) == made
        assert {s.workspace_id for s in sessions} == {"#ws-a", "#ws-b", "#ws-c", "#ws-d"}
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM spans").fetchone()[0] == made
    assert conn.execute("SELECT COUNT(DISTINCT span_id) FROM spans").fetchone()[0] == made


@pytest.mark.slow
def test_process_killed_mid_write_leaves_a_readable_store(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.store.killed_proc", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
            cwd=REPO,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(0.15 + 0.1 * round_)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        with StoreReader(path) as reader:
            sessions = reader.sessions(limit=1000)
            assert sessions, "at least the first batch was committed"
            for session in sessions:  # every committed batch is whole: summaries match the rows
                assert len(reader.trace(session.trace_id)) == session.span_count == 401
            assert reader.search_entries("message")


def test_cli_reads_what_a_killed_writer_left(tmp_path: Path) -> None:
    """The CLI, too, opens the store a SIGKILLed writer left behind (its WAL not checkpointed)."""
    path = tmp_path / "k.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store.killed_proc", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    done = run_cli("logs", "--json", store=path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("#kill") >= 1


def test_unwritable_location_fails_the_export_without_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    exporter = StoreSpanExporter(blocker / "sub" / "w.db")
    assert exporter.export(_spans()) == SpanExportResult.FAILURE
    exporter.shutdown()
    assert exporter.export(_spans()) == SpanExportResult.FAILURE


def test_values_sqlite_cannot_bind_are_stored_readably(tmp_path: Path) -> None:
    """Lone surrogates and integers past 64 bits reach spans through the API; the batch must still land."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
    with tracer.start_as_current_span("bad \ud800 name", attributes={sc.WORKSPACE_ID: "#w\udfff"}) as span:
        span.add_event(
            sc.event_name("info"),
            {sc.WORKLOG_LEVEL: "info", sc.WORKLOG_MESSAGE: "odd \ud800 text", sc.WORKLOG_STEP: 2**70},
        )
    path = tmp_path / "odd.db"
    exporter = StoreSpanExporter(path)
    assert exporter.export(list(memory.get_finished_spans()) + _spans()) == SpanExportResult.SUCCESS
    with StoreReader(path) as reader:
        assert len(reader.sessions()) == 2
        (odd,) = [s for s in reader.sessions() if s.workspace_id != "#w"]
        (record,) = reader.trace(odd.trace_id)
        assert record.name.startswith("bad ") and record.events[0].attributes[sc.WORKLOG_STEP] == 2**70
        assert reader.search_entries("odd")
