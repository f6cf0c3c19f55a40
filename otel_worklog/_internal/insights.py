"""Shared insights: the seeds' Learning Exchange, carried by ``worklog.insight`` span events.

A shareable insight (confidence >= 0.85, one of the eight categories) is delivered to every bot
registered with :func:`on_insight` whose scope applies, following the seeds' ``ApplicabilityRule``:

- ``general``: every bot;
- ``project``: the bots of the workspaces named in ``applies_to`` (their declared participants and
  the bots seen working there), or of the insight's own workspace when ``applies_to`` is empty;
- ``team``: the bots and workspaces named in ``applies_to`` (the workspace's bots when empty);
- ``bot_specific``: only the bots named in ``applies_to``.

The bot that recorded an insight already knows it and is never sent it back. Each insight goes to
each bot once: what was delivered is recorded in SQLite (our own two tables in the store's file,
or in memory without a store), so a restart does not deliver it again, and a bot that registers
later still gets the insights it missed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.util import BoundedList

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.errors import log_internal_error

logger = logging.getLogger("otel_worklog")

TABLE_INSIGHTS: Final = "analytics_insights"
TABLE_DELIVERIES: Final = "analytics_insight_deliveries"
_MAX_WORKSPACES: Final = 10_000
_MAX_BOTS_PER_WORKSPACE: Final = 256


@dataclass(frozen=True)
class Insight:
    """One shareable learning. ``recipients`` is None for everyone, else the bots it applies to."""

    id: str
    text: str
    category: str
    confidence: float
    scope: str
    applies_to: tuple[str, ...]
    source_bot: str | None
    workspace_id: str | None
    recipients: frozenset[str] | None
    trace_id: str = ""
    span_id: str = ""
    time_ns: int = 0

    def applies(self, bot: str) -> bool:
        """The seeds' ApplicabilityRule, resolved when the insight was recorded."""
        if bot == self.source_bot:
            return False
        return self.recipients is None or bot in self.recipients


InsightCallback = Callable[[Insight], Any]


def is_shareable(attributes: Mapping[str, Any]) -> bool:
    """Confidence >= 0.85 and one of the eight categories (the event's own flag is not trusted alone)."""
    confidence = attributes.get(sc.WORKLOG_CONFIDENCE)
    category = attributes.get(sc.WORKLOG_INSIGHT_CATEGORY)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        return False
    if attributes.get(sc.WORKLOG_INSIGHT_SHAREABLE) is False:
        return False
    return confidence >= sc.INSIGHT_SHAREABLE_CONFIDENCE and category in sc.INSIGHT_CATEGORIES


def _as_names(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    try:
        return tuple(str(item) for item in value if str(item))
    except TypeError:
        return ()


_SPACES = re.compile(r"\s+")


def insight_id(text: str, category: str, scope: str, applies_to: Iterable[str], workspace_id: str | None) -> str:
    """Duplicates share an id: same words (case and spacing aside), category, scope and audience."""
    names = sorted(set(applies_to))
    where = workspace_id if scope in ("project", "team") and not names else ""
    key = "\x1f".join([_SPACES.sub(" ", text).strip().lower(), category, scope, "\x1e".join(names), where or ""])
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]


def recipients(
    scope: str,
    applies_to: tuple[str, ...],
    workspace_id: str | None,
    workspace_bots: Mapping[str, Iterable[str]],
) -> frozenset[str] | None:
    """Who an insight applies to (None: every bot). ``workspace_bots`` maps a workspace to its bots."""
    if scope == "general" or scope not in sc.INSIGHT_SCOPES:
        return None
    if scope == "bot_specific":
        return frozenset(name for name in applies_to if name not in workspace_bots)
    targets: set[str] = set()
    named = applies_to or ((workspace_id,) if workspace_id is not None else ())
    for name in named:
        if name in workspace_bots:
            targets.update(workspace_bots[name])
        elif not name.startswith("#"):
            targets.add(name)
    return frozenset(targets)


def insight_from_event(
    event_attributes: Mapping[str, Any],
    span_attributes: Mapping[str, Any],
    workspace_bots: Mapping[str, Iterable[str]],
    *,
    trace_id: str = "",
    span_id: str = "",
    time_ns: int = 0,
) -> Insight | None:
    """The :class:`Insight` a ``worklog.insight`` event carries, or None when it is not shareable."""
    if not is_shareable(event_attributes):
        return None
    text = str(event_attributes.get(sc.WORKLOG_MESSAGE, ""))
    category = str(event_attributes[sc.WORKLOG_INSIGHT_CATEGORY])
    scope = str(event_attributes.get(sc.WORKLOG_INSIGHT_SCOPE, "general"))
    applies_to = _as_names(event_attributes.get(sc.WORKLOG_INSIGHT_APPLIES_TO))
    workspace = span_attributes.get(sc.WORKSPACE_ID)
    workspace_id = workspace if isinstance(workspace, str) else None
    bot = span_attributes.get(sc.BOT_NAME)
    return Insight(
        id=insight_id(text, category, scope, applies_to, workspace_id),
        text=text,
        category=category,
        confidence=float(event_attributes[sc.WORKLOG_CONFIDENCE]),
        scope=scope,
        applies_to=applies_to,
        source_bot=bot if isinstance(bot, str) else None,
        workspace_id=workspace_id,
        recipients=recipients(scope, applies_to, workspace_id, workspace_bots),
        trace_id=trace_id,
        span_id=span_id,
        time_ns=time_ns,
    )


# --- Delivery ledger (SQLite) ----------------------------------------------------------------
class InsightLedger:
    """The insights seen and who got each one, in two tables of our own."""

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path) if path is not None else ":memory:", timeout=10.0, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE_INSIGHTS} ("
                "id TEXT PRIMARY KEY, text TEXT NOT NULL, category TEXT NOT NULL, confidence REAL NOT NULL,"
                " scope TEXT NOT NULL, applies_to TEXT NOT NULL, recipients TEXT, source_bot TEXT,"
                " workspace_id TEXT, trace_id TEXT, span_id TEXT, time_ns INTEGER NOT NULL)"
            )
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE_DELIVERIES} ("
                "insight_id TEXT NOT NULL, bot TEXT NOT NULL, delivered_ns INTEGER NOT NULL,"
                " PRIMARY KEY (insight_id, bot))"
            )

    def add(self, insight: Insight) -> None:
        """Keep ``insight``; a duplicate (same id) keeps the first one."""
        audience = None if insight.recipients is None else json.dumps(sorted(insight.recipients))
        with self._lock, self._db:
            self._db.execute(
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
        with self._lock, self._db:
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO {TABLE_DELIVERIES} VALUES (?,?,?)", (insight_id, bot, time.time_ns())
            )
            return cursor.rowcount == 1

    def get(self, insight_id: str) -> Insight | None:
        with self._lock:
            row = self._db.execute(f"SELECT * FROM {TABLE_INSIGHTS} WHERE id = ?", (insight_id,)).fetchone()
        return _row_to_insight(row) if row is not None else None

    def pending(self, bot: str) -> list[Insight]:
        """Insights not yet delivered to ``bot`` that apply to it, oldest first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM {TABLE_INSIGHTS} WHERE id NOT IN"
                f" (SELECT insight_id FROM {TABLE_DELIVERIES} WHERE bot = ?) ORDER BY time_ns, id",
                (bot,),
            ).fetchall()
        return [insight for insight in map(_row_to_insight, rows) if insight.applies(bot)]

    def delivered(self, bot: str | None = None) -> list[tuple[str, str]]:
        """(insight id, bot) pairs delivered so far."""
        query = f"SELECT insight_id, bot FROM {TABLE_DELIVERIES}"
        with self._lock:
            if bot is None:
                return [tuple(row) for row in self._db.execute(query + " ORDER BY delivered_ns")]  # type: ignore[misc]
            rows = self._db.execute(query + " WHERE bot = ? ORDER BY delivered_ns", (bot,))
            return [tuple(row) for row in rows]  # type: ignore[misc]

    def close(self) -> None:
        with self._lock:
            self._db.close()


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


# --- Callbacks -------------------------------------------------------------------------------
_callbacks: dict[str, list[InsightCallback]] = {}
_callbacks_lock = threading.Lock()
_processors: weakref.WeakSet[InsightProcessor] = weakref.WeakSet()


def on_insight(bot: str, callback: InsightCallback) -> InsightCallback:
    """Deliver the shared insights that apply to ``bot`` to ``callback``, each once, including ones it missed."""
    if not isinstance(bot, str) or not bot:
        logger.warning("otel_worklog: on_insight needs a bot name, got %r; ignoring", bot)
        return callback
    with _callbacks_lock:
        registered = _callbacks.setdefault(bot, [])
        if callback not in registered:
            registered.append(callback)
    for processor in list(_processors):
        processor.deliver_pending(bot)
    return callback


def remove_insight_callback(bot: str, callback: InsightCallback) -> None:
    with _callbacks_lock:
        registered = _callbacks.get(bot, [])
        if callback in registered:
            registered.remove(callback)
        if not registered:
            _callbacks.pop(bot, None)


def clear_insight_callbacks() -> None:
    """Forget every callback (tests and reconfiguration)."""
    with _callbacks_lock:
        _callbacks.clear()


def _callbacks_for(bot: str) -> list[InsightCallback]:
    with _callbacks_lock:
        return list(_callbacks.get(bot, ()))


def _registered_bots() -> list[str]:
    with _callbacks_lock:
        return list(_callbacks)


# --- The processor ---------------------------------------------------------------------------
class InsightProcessor(SpanProcessor):
    """Picks shareable ``worklog.insight`` events off ending spans and delivers them."""

    def __init__(self, ledger: InsightLedger) -> None:
        self.ledger = ledger
        self._lock = threading.Lock()
        self._workspace_bots: OrderedDict[str, set[str]] = OrderedDict()
        _processors.add(self)
        for bot in _registered_bots():
            self.deliver_pending(bot)

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        # Hot path (every span): read the attribute dict directly and only look at workspace and bot spans.
        bounded = span._attributes
        attrs = getattr(bounded, "_dict", bounded) if bounded is not None else None
        if not attrs:
            return
        participants = attrs.get(sc.WORKSPACE_PARTICIPANTS)
        if participants is None and attrs.get(sc.GEN_AI_OPERATION_NAME) != sc.OPERATION_INVOKE_AGENT:
            return
        workspace = attrs.get(sc.WORKSPACE_ID)
        if not isinstance(workspace, str):
            return
        bots = _as_names(participants)
        bot = attrs.get(sc.BOT_NAME)
        if isinstance(bot, str):
            bots = (*bots, bot)
        if bots:
            self._remember(workspace, bots)

    def on_end(self, span: ReadableSpan) -> None:
        events: Any = span._events  # hot path: the public property copies the events
        if type(events) is BoundedList:
            events = events._dq  # type: ignore[attr-defined]  # an ended span never changes again
        if not events:
            return
        try:
            attrs = span.attributes or {}
            found: list[Insight] = []
            for event in events:
                if event.name != sc.EVENT_INSIGHT:
                    continue
                event_attrs = event.attributes or {}
                names = (*_as_names(event_attrs.get(sc.WORKLOG_INSIGHT_APPLIES_TO)), attrs.get(sc.WORKSPACE_ID))
                with self._lock:
                    known = {
                        name: frozenset(self._workspace_bots[name])
                        for name in names
                        if isinstance(name, str) and name in self._workspace_bots
                    }
                insight = insight_from_event(
                    event_attrs,
                    attrs,
                    known,
                    trace_id=format(span.context.trace_id, "032x"),
                    span_id=format(span.context.span_id, "016x"),
                    time_ns=event.timestamp,
                )
                if insight is not None:
                    found.append(insight)
            for insight in found:
                self.ledger.add(insight)
                stored = self.ledger.get(insight.id) or insight  # a duplicate keeps the first audience
                for bot in _registered_bots():
                    if stored.applies(bot):
                        self._deliver(stored, bot)
        except Exception:
            log_internal_error()

    def deliver_pending(self, bot: str) -> int:
        """Send ``bot`` every applicable insight it has not had yet; returns how many."""
        try:
            count = 0
            for insight in self.ledger.pending(bot):
                count += self._deliver(insight, bot)
            return count
        except sqlite3.Error:
            logger.warning("otel_worklog: could not read pending insights for %s", bot, exc_info=True)
            return 0

    def _deliver(self, insight: Insight, bot: str) -> int:
        callbacks = _callbacks_for(bot)
        if not callbacks or not self.ledger.claim(insight.id, bot):
            return 0
        for callback in callbacks:
            try:
                callback(insight)
            except Exception:  # a user's callback must never break the app
                logger.warning("otel_worklog: on_insight callback for %s raised; ignoring it", bot, exc_info=True)
        return 1

    def _remember(self, workspace: str, bots: Iterable[str]) -> None:
        with self._lock:
            known = self._workspace_bots.get(workspace)
            if known is None:
                known = self._workspace_bots[workspace] = set()
                while len(self._workspace_bots) > _MAX_WORKSPACES:
                    self._workspace_bots.popitem(last=False)
            for bot in bots:
                if len(known) < _MAX_BOTS_PER_WORKSPACE:
                    known.add(bot)

    def shutdown(self) -> None:
        _processors.discard(self)
        self.ledger.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def create_insight_processor(store_path: Path | None) -> SpanProcessor | None:
    """The span processor that delivers shared insights; delivery is recorded next to the store."""
    try:
        ledger = InsightLedger(Path(store_path) if store_path is not None else None)
    except (OSError, sqlite3.Error):
        logger.warning("otel_worklog: cannot open %s for insight delivery; keeping it in memory", store_path)
        ledger = InsightLedger(None)
    return InsightProcessor(ledger)
