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
import os
import sqlite3
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.exceptions import ReaderError, StoreNotFound, StoreTooNew
from otel_worklog._internal.span_kinds import Kind, classify
from otel_worklog._internal.status import ERROR_ENTRY_EVENT, FAILING_KINDS

__all__ = [
    "MIGRATIONS",
    "PART_CODES",
    "SCHEMA_VERSION",
    "TABLE_DELIVERIES",
    "TABLE_INSIGHTS",
    "TABLE_RESOLUTIONS",
    "NotAStore",
    "StoreLocked",
    "connect",
    "is_busy",
    "migrate",
    "open_for_reading",
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
# once per batch (cheaper than a per-row trigger); deletes go through a trigger.
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


#: How ``spans.part`` stores a span's kind: a small integer, which a read fetches without allocating (a
#: name would be a new string per row). Stored on disk: a code is never reused for another kind.
PART_CODES: Final[Mapping[Kind, int]] = {
    Kind.WORKSPACE: 1,
    Kind.BOT: 2,
    Kind.TOOL: 3,
    Kind.HANDOFF: 4,
    Kind.ESCALATION: 5,
    Kind.ALERT: 6,
    Kind.LLM: 7,
    Kind.OTHER: 8,
}


def _backfill_parts(conn: sqlite3.Connection) -> None:
    """Classify the spans stored before the ``part`` column, as ingest now classifies them."""
    rows = conn.execute("SELECT id, name, attributes FROM spans WHERE part IS NULL")
    while batch := rows.fetchmany(10_000):
        conn.executemany(
            "UPDATE spans SET part = ? WHERE id = ?",
            [(PART_CODES[classify(name, _json_object(attributes))], rowid) for rowid, name, attributes in batch],
        )


# Version 5: each span's kind (span_kinds.classify: bot, tool, handoff..., coded by PART_CODES) as ingest
# classified it, so readers do not classify every span again. A change to classify's rules comes with a
# migration that classifies the stored spans again. Existing data is backfilled.
_V5: list[str | Callable[[sqlite3.Connection], None]] = ["ALTER TABLE spans ADD COLUMN part INTEGER", _backfill_parts]

#: MIGRATIONS[i] takes a store from version i to version i + 1: SQL statements, or functions of the
#: connection for a step SQL cannot say (each runs inside the migration's transaction).
MIGRATIONS: list[list[str | Callable[[sqlite3.Connection], None]]] = [[*_V1], [*_V2], [*_V3], _V4, _V5]
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _too_new(version: int) -> StoreTooNew:
    return StoreTooNew(
        f"the store was written by a newer otel-worklog (schema v{version}, this one knows v{SCHEMA_VERSION});"
        " upgrade otel-worklog"
    )


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Bring the store up to ``target``; returns the version it was at. Safe when processes race."""
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise _too_new(current)
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


class StoreLocked(ReaderError):
    """Another process holds the store's write lock for longer than this connection waits."""


class NotAStore(ReaderError):
    """The file is not a work-log store (another app's database, or not a database at all)."""


_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_HEADER_BYTES: Final = 100
#: Where the SQLite header keeps ``PRAGMA user_version`` and the schema cookie (big-endian, four bytes each);
#: the cookie is 0 until the first table is created.
_USER_VERSION_AT: Final = slice(60, 64)
_SCHEMA_COOKIE_AT: Final = slice(40, 44)


def _not_a_store(path: Path) -> str | None:
    """Why the existing file at ``path`` cannot be a work-log store, read from its header alone; None if it may be.

    Read before SQLite opens the file, so a foreign file is refused untouched. A store's schema version is
    at least 1; the header's copy is stale only while a newer one waits in the write-ahead log.
    """
    with open(path, "rb") as file:
        header = file.read(_HEADER_BYTES)
    if not header:
        return None  # empty: a store about to be created (this module creates the file first)
    if len(header) < _HEADER_BYTES or not header.startswith(_SQLITE_MAGIC):
        return "not an SQLite database"
    if int.from_bytes(header[_USER_VERSION_AT], "big") or not int.from_bytes(header[_SCHEMA_COOKIE_AT], "big"):
        return None  # a store, or an empty database (a store another process is setting up)
    wal = path.with_name(path.name + "-wal")
    if wal.is_file() and wal.stat().st_size > 0:
        return None  # the header may be older than what the log holds: SQLite tells
    return "an SQLite database without otel-worklog's tables"


def _create_private(path: Path) -> None:
    """Create the store's directory (0700) and file (0600) when missing: the store holds tool arguments.

    SQLite gives the store's ``-wal`` and ``-shm`` files the database file's permissions. An existing
    directory or file keeps the permissions it has.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass


def is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def connect(
    path: Path, *, create: bool = True, upgrade: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> sqlite3.Connection:
    """Open the store for writing in WAL mode, creating or upgrading it as needed.

    ``create=False`` never creates: a missing file is :class:`StoreNotFound`. A file that is not a
    work-log store is :class:`NotAStore`, refused before anything is written to it. A lock held
    longer than ``busy_timeout_ms`` is :class:`StoreLocked`. Readers use :func:`open_for_reading`.
    """
    path = Path(path)
    if not create and not path.is_file():
        raise StoreNotFound(f"no work-log store at {path} (run `otel-worklog demo`, or pass --store / --tempo)")
    try:
        if create:
            _create_private(path)
        reason = _not_a_store(path)
    except OSError as exc:
        raise ReaderError(f"cannot open the store at {path}: {exc}") from exc
    if reason is not None:
        raise NotAStore(f"{path} is not a work-log store ({reason})")
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise ReaderError(f"cannot open the store at {path}: {exc}") from exc
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if not create and schema_version(conn) == 0:
            raise NotAStore(f"{path} is not a work-log store (an SQLite database without otel-worklog's tables)")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a killed process never corrupts the store; only a power cut can lose the last commits.
        conn.execute("PRAGMA synchronous = NORMAL")
        if upgrade:
            migrate(conn)
        elif schema_version(conn) > SCHEMA_VERSION:
            migrate(conn)  # raises StoreTooNew
    except sqlite3.OperationalError as exc:
        conn.close()
        if is_busy(exc):
            raise StoreLocked(f"the store at {path} is locked by another process: {exc}") from exc
        raise ReaderError(f"the store at {path} is unreadable: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ReaderError(f"the store at {path} is unreadable: {exc}") from exc
    except BaseException:
        conn.close()
        raise
    return conn


def open_for_reading(path: Path) -> sqlite3.Connection:
    """Open an existing store read-only: a read never creates a store, nor writes into another app's file.

    Read-only media too: when SQLite cannot set up its shared WAL index there (no write access to the
    directory or file), the store is opened as immutable. Only an older store of our own is changed: it
    is upgraded in place, as any otel-worklog would, when it is writable.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreNotFound(f"no work-log store at {path} (run `otel-worklog demo`, or pass --store / --tempo)")
    try:
        reason = _not_a_store(path)
    except OSError as exc:
        raise ReaderError(f"cannot open the store at {path}: {exc}") from exc
    if reason is not None:
        raise NotAStore(f"{path} is not a work-log store ({reason})")
    conn = _open_read_only(path)
    try:
        version = schema_version(conn)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise ReaderError(f"the store at {path} is unreadable: {exc}") from exc
    if version > SCHEMA_VERSION:
        conn.close()
        raise _too_new(version)
    if version == 0 or "spans" not in tables:
        conn.close()
        raise NotAStore(f"{path} is not a work-log store (an SQLite database without otel-worklog's tables)")
    if version == SCHEMA_VERSION:
        return conn
    conn.close()
    try:
        return connect(path, create=False)
    except ReaderError as exc:
        raise ReaderError(
            f"the store at {path} is from an older otel-worklog (schema v{version}) and could not be upgraded"
            f" for reading: {exc}"
        ) from exc


def _open_read_only(path: Path) -> sqlite3.Connection:
    location = "file:" + urllib.parse.quote(str(path.resolve()))
    failure: sqlite3.Error | None = None
    for mode in ("mode=ro", "mode=ro&immutable=1"):
        conn = sqlite3.connect(
            f"{location}?{mode}",
            uri=True,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError as exc:
            conn.close()
            failure = exc
            text = str(exc).lower()
            if "readonly" in text or "read-only" in text or "unable to open" in text:
                continue  # read-only media: SQLite cannot create or write the WAL index there
            break
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise NotAStore(f"{path} is not a work-log store ({exc})") from exc
        return conn
    raise ReaderError(f"cannot open the store at {path}: {failure}")
