"""The store's SQLite schema, its version history and the connection set-up.

The schema version lives in ``PRAGMA user_version``. Each entry of
:data:`MIGRATIONS` takes a store from one version to the next inside one
transaction, so a newer otel-worklog opens (and upgrades) an older store, and a
store written by a *newer* version is refused with a clear message instead of
being misread. WAL journaling lets several bot processes write while the CLI
reads; ``busy_timeout`` makes a writer wait for another instead of failing.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.exceptions import ReaderError, StoreNotFound, StoreTooNew
from otel_worklog._internal.span_kinds import classify
from otel_worklog._internal.status import ERROR_ENTRY_EVENT, FAILING_KINDS

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TABLE_DELIVERIES",
    "TABLE_INSIGHTS",
    "TABLE_RESOLUTIONS",
    "connect",
    "migrate",
    "schema_version",
]

logger = logging.getLogger("otel_worklog")

BUSY_TIMEOUT_MS = 30_000


def _json_attr(column: str, key: str) -> str:
    """SQL for one attribute out of a JSON attributes column (keys contain dots, so quote them)."""
    return f"json_extract({column}, '$.\"{key}\"')"


# Version 1: spans, events and links, with the per-span columns the CLI filters on.
_V1 = [
    """CREATE TABLE resources (
        id INTEGER PRIMARY KEY,
        attributes TEXT NOT NULL UNIQUE
    )""",
    """CREATE TABLE spans (
        id INTEGER PRIMARY KEY,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        parent_span_id TEXT,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        status_code TEXT NOT NULL,
        status_message TEXT NOT NULL DEFAULT '',
        workspace_id TEXT,
        bot_name TEXT,
        escalation INTEGER NOT NULL DEFAULT 0,
        error INTEGER NOT NULL DEFAULT 0,
        attributes TEXT NOT NULL,
        scope TEXT NOT NULL DEFAULT '',
        resource_id INTEGER,
        UNIQUE (trace_id, span_id)
    )""",
    # One trace's spans come from the UNIQUE (trace_id, span_id) index; escalations from a small partial index.
    "CREATE INDEX spans_escalation ON spans (start_ns) WHERE escalation = 1",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        span_rowid INTEGER NOT NULL,
        name TEXT NOT NULL,
        time_ns INTEGER NOT NULL,
        level TEXT,
        step INTEGER,
        message TEXT,
        attributes TEXT NOT NULL
    )""",
    "CREATE INDEX events_span ON events (span_rowid)",
    """CREATE TABLE links (
        id INTEGER PRIMARY KEY,
        span_rowid INTEGER NOT NULL,
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        attributes TEXT NOT NULL
    )""",
    "CREATE INDEX links_span ON links (span_rowid)",
]

# Version 2: one summary row per session (trace) so `logs` never scans spans, the bots of each
# session (by workspace, bot and time: the filters of `logs`), and full-text search over entry
# messages for `how`. Existing data is backfilled. The exporter fills the search index in bulk,
# once per batch (a per-row trigger costs ~5x more); deletes go through a trigger.
_V2 = [
    """CREATE TABLE traces (
        trace_id TEXT PRIMARY KEY,
        workspace_id TEXT,
        workspace_type TEXT,
        query TEXT,
        root_name TEXT,
        start_ns INTEGER NOT NULL,
        end_ns INTEGER NOT NULL,
        span_count INTEGER NOT NULL DEFAULT 0,
        escalations INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX traces_start ON traces (start_ns)",
    "CREATE INDEX traces_end ON traces (end_ns)",
    "CREATE INDEX traces_workspace ON traces (workspace_id, start_ns)",
    """CREATE TABLE trace_bots (
        trace_id TEXT NOT NULL,
        bot_name TEXT NOT NULL,
        PRIMARY KEY (trace_id, bot_name)
    ) WITHOUT ROWID""",
    "CREATE INDEX trace_bots_bot ON trace_bots (bot_name, trace_id)",
    "CREATE VIRTUAL TABLE events_fts USING fts5 (message, content='events', content_rowid='id')",
    """CREATE TRIGGER events_fts_delete AFTER DELETE ON events WHEN old.message IS NOT NULL BEGIN
        INSERT INTO events_fts (events_fts, rowid, message) VALUES ('delete', old.id, old.message);
    END""",
    "INSERT INTO events_fts (rowid, message) SELECT id, message FROM events WHERE message IS NOT NULL",
    f"""INSERT INTO traces (trace_id, workspace_id, workspace_type, query, root_name, start_ns, end_ns,
                            span_count, escalations, errors)
        SELECT trace_id,
               COALESCE(MAX(CASE WHEN parent_span_id IS NULL THEN workspace_id END), MAX(workspace_id)),
               MAX(CASE WHEN parent_span_id IS NULL THEN {_json_attr("attributes", sc.WORKSPACE_TYPE)} END),
               MAX(CASE WHEN parent_span_id IS NULL THEN {_json_attr("attributes", sc.WORKLOG_QUERY)} END),
               MAX(CASE WHEN parent_span_id IS NULL THEN name END),
               MIN(start_ns), MAX(end_ns), COUNT(*), SUM(escalation), SUM(error)
        FROM spans GROUP BY trace_id""",
    """INSERT OR IGNORE INTO trace_bots (trace_id, bot_name)
        SELECT DISTINCT trace_id, bot_name FROM spans WHERE bot_name IS NOT NULL""",
]

#: The insight ledger's tables (see ``store/ledger.py``).
TABLE_INSIGHTS: Final = "analytics_insights"
TABLE_DELIVERIES: Final = "analytics_insight_deliveries"

# Version 3: the insight ledger: every shareable insight seen, and which bot was given which. Stores
# written before this version may already hold these tables (the ledger used to create them itself).
_V3 = [
    f"""CREATE TABLE IF NOT EXISTS {TABLE_INSIGHTS} (
        id TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        category TEXT NOT NULL,
        confidence REAL NOT NULL,
        scope TEXT NOT NULL,
        applies_to TEXT NOT NULL,
        recipients TEXT,
        source_bot TEXT,
        workspace_id TEXT,
        trace_id TEXT,
        span_id TEXT,
        time_ns INTEGER NOT NULL
    )""",
    f"""CREATE TABLE IF NOT EXISTS {TABLE_DELIVERIES} (
        insight_id TEXT NOT NULL,
        bot TEXT NOT NULL,
        delivered_ns INTEGER NOT NULL,
        PRIMARY KEY (insight_id, bot)
    )""",
]

#: Resolutions of escalations: (the trace the resolution was recorded in, the escalation's span id).
TABLE_RESOLUTIONS: Final = "escalation_resolutions"


def _backfill_failed_bots(conn: sqlite3.Connection) -> None:
    """Count each session's failed bot and workspace spans, classified as ingest now classifies them."""
    failed: dict[str, int] = {}
    for trace_id, name, attributes in conn.execute(
        "SELECT trace_id, name, attributes FROM spans WHERE status_code = 'ERROR'"
    ):
        if classify(name, _json_object(attributes)) in FAILING_KINDS:
            failed[trace_id] = failed.get(trace_id, 0) + 1
    conn.executemany("UPDATE traces SET failed_bots = ? WHERE trace_id = ?", [(n, t) for t, n in failed.items()])


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


_EVENT_SPAN = "events e JOIN spans s ON s.id = e.span_rowid"
# Version 4: what the session status rule (status.py) needs in the summary of each session: failed bot
# (or workspace) spans, error entries, and escalations resolved, with the resolutions seen so far (a
# resolution often arrives in a later batch than its escalation, or before it). Existing data is backfilled.
_V4: list[str | Callable[[sqlite3.Connection], None]] = [
    "ALTER TABLE traces ADD COLUMN failed_bots INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE traces ADD COLUMN error_entries INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE traces ADD COLUMN resolved_escalations INTEGER NOT NULL DEFAULT 0",
    f"""CREATE TABLE {TABLE_RESOLUTIONS} (
        trace_id TEXT NOT NULL,
        span_id TEXT NOT NULL,
        PRIMARY KEY (trace_id, span_id)
    ) WITHOUT ROWID""",
    f"""INSERT OR IGNORE INTO {TABLE_RESOLUTIONS} (trace_id, span_id)
        SELECT s.trace_id, lower({_json_attr("e.attributes", sc.WORKLOG_ESCALATION_SPAN_ID)}) FROM {_EVENT_SPAN}
        WHERE e.name = '{sc.EVENT_ESCALATION_RESOLVED}'
          AND json_type(e.attributes, '$."{sc.WORKLOG_ESCALATION_SPAN_ID}"') = 'text'""",
    f"""UPDATE traces SET resolved_escalations = (
            SELECT COUNT(*) FROM {TABLE_RESOLUTIONS} r JOIN spans s ON s.trace_id = r.trace_id AND s.span_id = r.span_id
            WHERE r.trace_id = traces.trace_id AND s.escalation = 1)
        WHERE trace_id IN (SELECT trace_id FROM {TABLE_RESOLUTIONS})""",
    f"""UPDATE traces SET error_entries = (
            SELECT COUNT(*) FROM {_EVENT_SPAN} WHERE s.trace_id = traces.trace_id AND e.name = '{ERROR_ENTRY_EVENT}')
        WHERE trace_id IN (SELECT s.trace_id FROM {_EVENT_SPAN} WHERE e.name = '{ERROR_ENTRY_EVENT}')""",
    _backfill_failed_bots,
]


def _backfill_parts(conn: sqlite3.Connection) -> None:
    """Classify the spans stored before the ``part`` column, as ingest now classifies them."""
    rows = conn.execute("SELECT id, name, attributes FROM spans WHERE part IS NULL")
    while batch := rows.fetchmany(10_000):
        conn.executemany(
            "UPDATE spans SET part = ? WHERE id = ?",
            [(classify(name, _json_object(attributes)).value, rowid) for rowid, name, attributes in batch],
        )


# Version 5: each span's kind (span_kinds.classify: bot, tool, handoff...) as ingest classified it, so
# readers do not classify every span again. A change to classify's rules comes with a migration that
# classifies the stored spans again. Existing data is backfilled.
_V5: list[str | Callable[[sqlite3.Connection], None]] = ["ALTER TABLE spans ADD COLUMN part TEXT", _backfill_parts]

#: MIGRATIONS[i] takes a store from version i to version i + 1: SQL statements, or functions of the
#: connection for a step SQL cannot say (each runs inside the migration's transaction).
MIGRATIONS: list[list[str | Callable[[sqlite3.Connection], None]]] = [[*_V1], [*_V2], [*_V3], _V4, _V5]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Bring the store up to ``target``; returns the version it was at. Safe when processes race."""
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise StoreTooNew(
            f"the store was written by a newer otel-worklog (schema v{current}, this one knows v{SCHEMA_VERSION});"
            " upgrade otel-worklog"
        )
    if current >= target:
        return current
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = schema_version(conn)  # another process may have migrated while we waited
        for version in range(current, target):
            for statement in MIGRATIONS[version]:
                if callable(statement):
                    statement(conn)
                else:
                    conn.execute(statement)
        if current < target:
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if current < target and current > 0:
        logger.info("otel_worklog: upgraded the store from schema v%d to v%d", current, target)
    return current


def connect(path: Path, *, create: bool = True, upgrade: bool = True) -> sqlite3.Connection:
    """Open the store in WAL mode, creating or upgrading it as needed.

    ``create=False`` is for readers: a missing file is :class:`StoreNotFound`, never an empty new store.
    """
    path = Path(path)
    if not create and not path.is_file():
        raise StoreNotFound(f"no work-log store at {path} (run `otel-worklog demo`, or pass --store / --tempo)")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ReaderError(f"cannot open the store at {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a killed process never corrupts the store; only a power cut can lose the last commits.
        conn.execute("PRAGMA synchronous = NORMAL")
        if upgrade:
            migrate(conn)
        elif schema_version(conn) > SCHEMA_VERSION:
            migrate(conn)  # raises StoreTooNew
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ReaderError(f"the store at {path} is unreadable: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn
