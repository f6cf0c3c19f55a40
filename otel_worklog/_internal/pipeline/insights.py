"""Insight delivery: shareable ``worklog.insight`` events picked off ending spans, sent to bots once.

Each insight goes to each bot registered with :func:`on_insight` whose scope applies (see
:mod:`otel_worklog._internal.record.insights`), once: the ledger in the store remembers what was
delivered. Delivery runs on its own thread, never the app's.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Final

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.forks import watch_forks
from otel_worklog._internal.pipeline.callbacks import CallbackRegistry
from otel_worklog._internal.record.insights import Insight, InsightCallback, as_names, insight_from_event
from otel_worklog._internal.sdk_compat import attributes_of, name_of, span_events
from otel_worklog._internal.settings import SHUTDOWN_TIMEOUT_S, resolve
from otel_worklog._internal.span_kinds import Kind, classify, may_be_bot
from otel_worklog._internal.store.ledger import InsightLedger

__all__ = [
    "INSIGHT_CALLBACKS",
    "Insight",
    "InsightProcessor",
    "clear_insight_callbacks",
    "create_insight_processor",
    "on_insight",
    "remove_insight_callback",
]

logger = logging.getLogger("otel_worklog")

_MAX_WORKSPACES: Final = 10_000
_MAX_BOTS_PER_WORKSPACE: Final = 256
#: The spans that say which bots work in a workspace: its root (participants) and its bots.
_MEMBERSHIP_KINDS: Final = frozenset({Kind.WORKSPACE, Kind.BOT})

#: Insight callbacks, by the bot they deliver to.
INSIGHT_CALLBACKS: Final[CallbackRegistry[Insight]] = CallbackRegistry("on_insight")
_processors: weakref.WeakSet[InsightProcessor] = weakref.WeakSet()


def on_insight(bot: str, callback: InsightCallback) -> InsightCallback:
    """Deliver the shared insights that apply to ``bot`` to ``callback``, each once, including ones it missed."""
    if not isinstance(bot, str) or not bot:
        logger.warning("otel_worklog: on_insight needs a bot name, got %r; ignoring", bot)
        return callback
    INSIGHT_CALLBACKS.add(callback, key=bot)
    for processor in list(_processors):
        processor.deliver_pending(bot)
    return callback


def remove_insight_callback(bot: str, callback: InsightCallback) -> None:
    INSIGHT_CALLBACKS.remove(callback, key=bot)


def clear_insight_callbacks() -> None:
    """Forget every callback (tests and reconfiguration)."""
    INSIGHT_CALLBACKS.clear()


class InsightProcessor(SpanProcessor):
    """Picks shareable ``worklog.insight`` events off ending spans and delivers them, on a thread of its own.

    Spans end on the app's threads; the ledger is in the store's file, which another process may hold
    locked. So ``on_end`` only picks the insights out, and this processor's thread records them and
    calls the ``on_insight`` callbacks: the app never waits for the store or for a slow callback.
    ``force_flush()`` waits until every insight picked so far is delivered.
    """

    #: Insights are events: the fan-out skips it for spans without any (processors.WorklogSpanProcessor).
    ends_only_with_events: ClassVar[bool] = True

    def __init__(self, ledger: InsightLedger) -> None:
        self.ledger = ledger
        self._lock = threading.Lock()
        self._workspace_bots: OrderedDict[str, set[str]] = OrderedDict()
        # The workspace and bot of the last workspace or bot span remembered (what its inner spans carry).
        self._last_workspace: object = None
        self._last_bot: object = None
        self._stopping = False
        self._start_afresh()
        watch_forks(self, InsightProcessor._start_afresh)
        _processors.add(self)
        for bot in INSIGHT_CALLBACKS.keys_snapshot():
            self.deliver_pending(bot)

    def _start_afresh(self) -> None:
        """The job queue and its thread (again in a forked child, which keeps none of the parent's jobs)."""
        self._jobs: deque[_Job] = deque()
        self._unfinished = 0
        self._changed = threading.Condition()
        self._worker = threading.Thread(target=self._run, name="otel-worklog-insights", daemon=True)
        if not self._stopping:
            self._worker.start()

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        # Hot path (every span): workspace and bot spans tell which bots work in which workspace. Every span
        # inside a bot carries the bot's own stamp: once its bot span is remembered, they are skipped at once.
        attrs = attributes_of(span)
        workspace = attrs.get(sc.WORKSPACE_ID)
        bot = attrs.get(sc.BOT_NAME)
        if workspace is self._last_workspace and bot is self._last_bot:
            return
        if not isinstance(workspace, str):
            return
        name = span.name
        # Only a workspace (which carries its type) or an agent tells membership: most spans are neither,
        # and are told apart without classifying (spans of several bots interleave, past the check above).
        if (sc.WORKSPACE_TYPE not in attrs and not may_be_bot(name, attrs)) or classify(
            name, attrs
        ) not in _MEMBERSHIP_KINDS:
            return
        bots = as_names(attrs.get(sc.WORKSPACE_PARTICIPANTS))
        if isinstance(bot, str):
            bots = (*bots, bot)
        if bots:
            self._remember(workspace, bots)
        self._last_workspace, self._last_bot = workspace, bot

    def on_end(self, span: ReadableSpan) -> None:
        events = span_events(span)  # hot path: the public property copies the events
        if not events:
            return
        try:
            found = self._insights_of(span, events)
            if found:
                self._submit(_Job(found=found))
        except Exception:
            log_internal_error()

    def _insights_of(self, span: ReadableSpan, events: Iterable[Any]) -> list[Insight]:
        attrs = attributes_of(span)
        found: list[Insight] = []
        for event in events:
            if name_of(event) != sc.EVENT_INSIGHT:
                continue
            event_attrs = attributes_of(event)
            names = (*as_names(event_attrs.get(sc.WORKLOG_INSIGHT_APPLIES_TO)), attrs.get(sc.WORKSPACE_ID))
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
        return found

    def deliver_pending(self, bot: str) -> None:
        """Send ``bot`` every applicable insight it has not had yet (on this processor's thread)."""
        self._submit(_Job(pending_for=bot))

    # -- the delivery thread -------------------------------------------------------
    def _submit(self, job: _Job) -> None:
        with self._changed:
            if self._stopping:
                return
            self._jobs.append(job)
            self._unfinished += 1
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._jobs and not self._stopping:
                    self._changed.wait()
                if not self._jobs:
                    break
                job = self._jobs.popleft()
            try:
                self._do(job)
            except ReaderError as exc:  # the store stayed locked past shutdown's deadline (already warned)
                logger.debug("otel_worklog: insight delivery gave up: %s", exc)
            except Exception:  # a fault here must never stop delivery for good
                logger.warning("otel_worklog: insight delivery failed", exc_info=True)
            finally:
                with self._changed:
                    self._unfinished -= 1
                    self._changed.notify_all()
        self.ledger.close()

    def _do(self, job: _Job) -> None:
        if job.pending_for is not None:
            try:
                for insight in self.ledger.pending(job.pending_for):
                    self._deliver(insight, job.pending_for)
            except sqlite3.Error:
                logger.warning("otel_worklog: could not read pending insights for %s", job.pending_for, exc_info=True)
        for insight in job.found:
            self.ledger.add(insight)
            stored = self.ledger.get(insight.id) or insight  # a duplicate keeps the first audience
            for bot in INSIGHT_CALLBACKS.keys_snapshot():
                if stored.applies(bot):
                    self._deliver(stored, bot)

    def _deliver(self, insight: Insight, bot: str) -> int:
        if not INSIGHT_CALLBACKS.has(bot) or not self.ledger.claim(insight.id, bot):
            return 0
        INSIGHT_CALLBACKS.notify(insight, key=bot)
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
        self.shutdown_by(time.monotonic() + resolve(SHUTDOWN_TIMEOUT_S))

    def shutdown_by(self, deadline: float) -> None:
        """Deliver what is waiting until ``deadline``; what is left then is counted in one warning."""
        _processors.discard(self)
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        if self._worker.is_alive():
            self._worker.join(max(0.0, deadline - time.monotonic()))
        self.ledger.stop_waiting()  # a delivery still waiting for a locked store gives up
        with self._changed:
            left = self._unfinished
        if left:
            logger.warning(
                "otel_worklog: %d insight deliveries were still waiting at the shutdown deadline (a slow on_insight"
                " callback, or the store locked by another process); they were not delivered",
                left,
            )

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Wait until every insight picked so far is recorded and delivered; False if the timeout passed first."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._changed:
            while self._unfinished and self._worker.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return self._unfinished == 0


@dataclass(frozen=True, slots=True)
class _Job:
    """Work for the delivery thread: insights just picked, or the backlog of a bot just registered."""

    found: Sequence[Insight] = ()
    pending_for: str | None = None


def create_insight_processor(store_path: Path | None) -> SpanProcessor | None:
    """The span processor that delivers shared insights; delivery is recorded in the store (opened later,
    on the processor's own thread)."""
    return InsightProcessor(InsightLedger(Path(store_path) if store_path is not None else None))
