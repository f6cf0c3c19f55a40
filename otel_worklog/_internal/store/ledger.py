"""The insight ledger: every shareable insight seen, and which bot has been given which.

It lives in the store's file (its tables are a migration of the store's schema), or in memory when
the store is off, so a restart never delivers an insight twice and a bot that registers later still
gets the insights it missed.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Final

from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.record.insights import Insight
from otel_worklog._internal.store.forks import close_inherited, watch_forks
from otel_worklog._internal.store.schema import TABLE_DELIVERIES, TABLE_INSIGHTS, connect, migrate

__all__ = ["TABLE_DELIVERIES", "TABLE_INSIGHTS", "InsightLedger"]

logger = logging.getLogger("otel_worklog")


class InsightLedger:
    """The insights seen and who got each one, in two tables of our own.

    The connection opens on first use, so whoever uses the ledger (insight delivery's own thread) is the
    one that waits when another process holds the store's lock. A file that cannot be opened leaves the
    ledger in memory, with a warning. A forked child opens its own connection.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        #: In a forked child: the parent's connection, open at the fork (see ``close_inherited``).
        self._inherited: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        watch_forks(
            self,
            InsightLedger._after_fork_in_child,
            prepare=InsightLedger._before_fork,
            resume=InsightLedger._after_fork_in_parent,
        )

    def _conn(self) -> sqlite3.Connection:
        """The connection, opened now if needed (call with the lock held)."""
        if self._db is None:
            if self._inherited is not None:
                close_inherited(self._inherited)
                self._inherited = None
            if self.path is not None:
                try:
                    self._db = connect(self.path, create=True)
                except (OSError, sqlite3.Error, ReaderError) as exc:
                    logger.warning(
                        "otel_worklog: cannot open %s for insight delivery (%s); keeping it in memory", self.path, exc
                    )
                    self.path = None
            if self._db is None:
                self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                migrate(self._db)
        return self._db

    def add(self, insight: Insight) -> None:
        """Keep ``insight``; a duplicate (same id) keeps the first one."""
        audience = None if insight.recipients is None else json.dumps(sorted(insight.recipients))
        with self._lock:
            db = self._conn()
            with db:
                db.execute(
                    f"INSERT OR IGNORE INTO {TABLE_INSIGHTS} VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
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
                    ),
                )

    def claim(self, insight_id: str, bot: str) -> bool:
        """Record the delivery; False when ``bot`` already had this insight."""
        with self._lock:
            db = self._conn()
            with db:
                cursor = db.execute(
                    f"INSERT OR IGNORE INTO {TABLE_DELIVERIES} VALUES (?,?,?)", (insight_id, bot, time.time_ns())
                )
                return cursor.rowcount == 1

    def get(self, insight_id: str) -> Insight | None:
        with self._lock:
            row = self._conn().execute(f"SELECT * FROM {TABLE_INSIGHTS} WHERE id = ?", (insight_id,)).fetchone()
        return _row_to_insight(row) if row is not None else None

    def pending(self, bot: str) -> list[Insight]:
        """Insights not yet delivered to ``bot`` that apply to it, oldest first."""
        with self._lock:
            rows = (
                self._conn()
                .execute(
                    f"SELECT * FROM {TABLE_INSIGHTS} WHERE id NOT IN"
                    f" (SELECT insight_id FROM {TABLE_DELIVERIES} WHERE bot = ?) ORDER BY time_ns, id",
                    (bot,),
                )
                .fetchall()
            )
        return [insight for insight in map(_row_to_insight, rows) if insight.applies(bot)]

    def delivered(self, bot: str | None = None) -> list[tuple[str, str]]:
        """(insight id, bot) pairs delivered so far."""
        query = f"SELECT insight_id, bot FROM {TABLE_DELIVERIES}"
        with self._lock:
            db = self._conn()
            if bot is None:
                return [tuple(row) for row in db.execute(query + " ORDER BY delivered_ns")]  # type: ignore[misc]
            rows = db.execute(query + " WHERE bot = ? ORDER BY delivered_ns", (bot,))
            return [tuple(row) for row in rows]  # type: ignore[misc]

    def close(self) -> None:
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                db.close()

    def _before_fork(self) -> bool:
        """Close a file connection no thread is using, so a child inherits no SQLite state of the store."""
        if self.path is None or not self._lock.acquire(timeout=_FORK_WAIT_S):
            return False
        db, self._db = self._db, None
        if db is not None:
            db.close()
        return True

    def _after_fork_in_parent(self) -> None:
        self._lock.release()  # taken by _before_fork

    def _after_fork_in_child(self) -> None:
        # A connection still open here is the parent's, or in memory: the child starts its own.
        self._inherited, self._db = self._db, None
        self._lock = threading.Lock()


#: How long fork() waits for a ledger write under way before the child inherits an open connection.
_FORK_WAIT_S: Final = 1.0


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
