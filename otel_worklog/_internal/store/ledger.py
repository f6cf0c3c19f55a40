"""The insight ledger: every shareable insight seen, and which bot has been given which.

It lives in the store's file (its tables are a migration of the store's schema), or in memory when
the store is off, so a restart never delivers an insight twice and a bot that registers later still
gets the insights it missed.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar

from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.forks import watch_forks
from otel_worklog._internal.record.insights import Insight
from otel_worklog._internal.store.forks import FORK_WAIT_S, UNSAFE_AFTER_FORK, keep_inherited
from otel_worklog._internal.store.identity import StoreIdentity
from otel_worklog._internal.store.schema import (
    TABLE_DELIVERIES,
    TABLE_INSIGHTS,
    StoreLocked,
    connect,
    is_busy,
    migrate,
)

__all__ = ["TABLE_DELIVERIES", "TABLE_INSIGHTS", "InsightLedger"]

logger = logging.getLogger("otel_worklog")

T = TypeVar("T")

#: How long one attempt waits for another process's lock; the ledger retries (see ``_with_db``).
_BUSY_WAIT_MS: Final = 250
_BETWEEN_ATTEMPTS_S: Final = 0.005


class InsightLedger:
    """The insights seen and who got each one, in two tables of our own.

    The connection opens on first use, so whoever uses the ledger (insight delivery's own thread) is the
    one that waits when another process holds the store's lock. A file that cannot be opened leaves the
    ledger in memory, with a warning. A forked child opens its own connection.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._identity: StoreIdentity | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        watch_forks(
            self,
            InsightLedger._after_fork_in_child,
            prepare=InsightLedger._before_fork,
            resume=InsightLedger._after_fork_in_parent,
        )

    def _conn(self) -> sqlite3.Connection:
        """The connection, opened now if needed (call with the lock held); a new one when the store was
        deleted or replaced (the store exporter, which notices too, says so)."""
        identity = self._identity
        if self._db is not None and identity is not None and not identity.still_there():
            db, self._db, self._identity = self._db, None, None
            db.close()
            identity.remove_stale_wal()
        if self._db is None:
            if self.path is not None:
                try:
                    self._db = connect(self.path, create=True, busy_timeout_ms=_BUSY_WAIT_MS)
                    self._identity = StoreIdentity(self.path)
                except StoreLocked:
                    raise  # retried by _with_db
                except (OSError, sqlite3.Error, ReaderError) as exc:
                    logger.warning(
                        "otel_worklog: cannot open %s for insight delivery (%s); keeping it in memory", self.path, exc
                    )
                    self.path = None
            if self._db is None:
                self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                migrate(self._db)
        return self._db

    def _with_db(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(connection)`` under the lock, retried while another process holds the store locked.

        Each attempt waits at most ``_BUSY_WAIT_MS`` for the lock, and the ledger's own lock is free between
        attempts (for fork()); :meth:`stop_waiting` ends the retries.
        """
        while True:
            with self._lock:
                try:
                    return work(self._conn())
                except StoreLocked:
                    pass
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc):
                        raise
            if self._stop.wait(_BETWEEN_ATTEMPTS_S):
                raise StoreLocked(f"the store at {self.path} stayed locked by another process")

    def stop_waiting(self) -> None:
        """Let an operation waiting for another process's lock give up (shutdown's deadline has passed)."""
        self._stop.set()

    def add(self, insight: Insight) -> None:
        """Keep ``insight``; a duplicate (same id) keeps the first one."""
        audience = None if insight.recipients is None else json.dumps(sorted(insight.recipients))
        row = (
            insight.id,
            insight.text,
            insight.category,
            insight.confidence,
            insight.scope,
            json.dumps(list(insight.applies_to)),
            audience,
            insight.source_bot,
            insight.workspace_id,
            insight.trace_id,
            insight.span_id,
            insight.time_ns,
        )

        def insert(db: sqlite3.Connection) -> None:
            with db:
                db.execute(f"INSERT OR IGNORE INTO {TABLE_INSIGHTS} VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)

        self._with_db(insert)

    def claim(self, insight_id: str, bot: str) -> bool:
        """Record the delivery; False when ``bot`` already had this insight."""

        def insert(db: sqlite3.Connection) -> bool:
            with db:
                cursor = db.execute(
                    f"INSERT OR IGNORE INTO {TABLE_DELIVERIES} VALUES (?,?,?)", (insight_id, bot, time.time_ns())
                )
                return cursor.rowcount == 1

        return self._with_db(insert)

    def get(self, insight_id: str) -> Insight | None:
        query = f"SELECT * FROM {TABLE_INSIGHTS} WHERE id = ?"
        row = self._with_db(lambda db: db.execute(query, (insight_id,)).fetchone())
        return _row_to_insight(row) if row is not None else None

    def pending(self, bot: str) -> list[Insight]:
        """Insights not yet delivered to ``bot`` that apply to it, oldest first."""
        query = (
            f"SELECT * FROM {TABLE_INSIGHTS} WHERE id NOT IN"
            f" (SELECT insight_id FROM {TABLE_DELIVERIES} WHERE bot = ?) ORDER BY time_ns, id"
        )
        rows = self._with_db(lambda db: db.execute(query, (bot,)).fetchall())
        return [insight for insight in map(_row_to_insight, rows) if insight.applies(bot)]

    def delivered(self, bot: str | None = None) -> list[tuple[str, str]]:
        """(insight id, bot) pairs delivered so far."""
        query = f"SELECT insight_id, bot FROM {TABLE_DELIVERIES}"
        if bot is None:
            rows = self._with_db(lambda db: db.execute(query + " ORDER BY delivered_ns").fetchall())
        else:
            rows = self._with_db(
                lambda db: db.execute(query + " WHERE bot = ? ORDER BY delivered_ns", (bot,)).fetchall()
            )
        return [(row[0], row[1]) for row in rows]

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    def _before_fork(self) -> bool:
        """Close a file connection no thread is using, so a child inherits no SQLite state of the store."""
        if self.path is None or not self._lock.acquire(timeout=FORK_WAIT_S):
            return False
        db, self._db = self._db, None
        if db is not None:
            db.close()
        return True

    def _after_fork_in_parent(self) -> None:
        self._lock.release()  # taken by _before_fork

    def _after_fork_in_child(self) -> None:
        self._lock = threading.Lock()
        if self._db is None:
            return  # closed before the fork: the child opens its own
        keep_inherited(self._db)  # in memory (the child starts an empty one), or a write was under way
        if self.path is not None:
            logger.warning(
                "otel_worklog: insight deliveries of process %d are kept in memory: %s", os.getpid(), UNSAFE_AFTER_FORK
            )
            self.path = None
        self._db, self._identity = None, None


def _row_to_insight(row: tuple[Any, ...]) -> Insight:
    audience = json.loads(row[6]) if row[6] is not None else None
    return Insight(
        id=row[0],
        text=row[1],
        category=row[2],
        confidence=row[3],
        scope=row[4],
        applies_to=tuple(json.loads(row[5])),
        recipients=frozenset(audience) if audience is not None else None,
        source_bot=row[7],
        workspace_id=row[8],
        trace_id=row[9] or "",
        span_id=row[10] or "",
        time_ns=row[11],
    )
