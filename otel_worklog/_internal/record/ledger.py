"""Events past a span's event limit: kept on a continuation span.

The SDK keeps a span's last ``OTEL_SPAN_EVENT_COUNT_LIMIT`` events (128 by default) and drops
the oldest without a word, so a long agent run would lose its first work-log entries. Every
span otel_worklog starts has an :class:`EventLedger` in its context. The ledger counts the
events added through it; once the span is full, the next entries go to a child span
``continued: {name}`` with the same workspace and bot scope, ended with its parent.

A span otel_worklog did not start (a foreign span) cannot continue, and counting its events
here would tax every entry: the pipeline counts what the SDK dropped from such spans when they
end, into :data:`DROPPED`, which warns about the first loss and which ``wl.shutdown()`` reports.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.forks import watch_forks
from otel_worklog._internal.record.current_span import SPAN_KEY, SPAN_KEY_KNOWN
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope
from otel_worklog._internal.record.state import STATE

logger = logging.getLogger("otel_worklog")

LEDGER_KEY: Final = otel_context.create_key("otel_worklog.event_ledger")
#: Slots a span keeps free for the ``exception`` event recorded when it fails.
_RESERVED_FOR_ERROR: Final = 1


class DroppedEntries:
    """Work-log entries lost to the SDK's event limit, process-wide; the first loss is warned about."""

    __slots__ = ("__weakref__", "_count", "_lock")

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()
        watch_forks(self, DroppedEntries._new_lock)

    def _new_lock(self) -> None:
        """In a forked child: the parent's lock may have been held by one of its other threads."""
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return self._count

    def add(self, dropped: int, span_name: str, limit: int | None) -> None:
        with self._lock:
            first = self._count == 0
            self._count += dropped
        if first and dropped:
            logger.warning(
                "otel_worklog: span %r lost %d work-log entries to the span event limit (OTEL_SPAN_EVENT_COUNT_LIMIT"
                "=%s): only spans otel_worklog starts continue on a new span. Log inside wl.bot(), wl.workspace() "
                "or @wl.tool, or raise the limit. The number lost is reported at shutdown.",
                span_name,
                dropped,
                limit,
            )


DROPPED: Final = DroppedEntries()


#: Guards every ledger's continuation spans; reentrant, as starting a span runs processors that may log.
_CONTINUATIONS_LOCK = threading.RLock()


def _new_continuations_lock() -> None:
    """In a forked child: the parent's lock may have been held by one of its other threads."""
    global _CONTINUATIONS_LOCK
    _CONTINUATIONS_LOCK = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_continuations_lock)
#: A ledger's continuation spans, under this key of its state: ``dict.setdefault`` is atomic.
_SPANS: Final = "continuations"
#: The continuation spans of a ledger whose span has ended.
_ENDED: Final[list[trace.Span]] = []


class EventLedger:
    """The events otel_worklog added to one of its own spans, and the continuation spans past the limit.

    What otel_worklog keeps about a span it started: a traced call and a started bot or workspace
    are each the ledger of their span. It rides in the span's context (:meth:`context`), and
    :meth:`close` is called just before the span ends.
    """

    __slots__ = ("_added", "_name", "_state", "_tracer", "span")

    def __init__(self, span: trace.Span, name: str, tracer: trace.Tracer) -> None:
        self.span = span
        self._name = name
        self._tracer = tracer
        self._added = itertools.count()  # advanced in C under the GIL: safe across threads
        self._state: dict[str, list[trace.Span]] = {}

    def context(self, parent: Context) -> Context:
        """``parent`` with the span current and this ledger beside it (one copy of the context)."""
        if not SPAN_KEY_KNOWN:
            return otel_context.set_value(LEDGER_KEY, self, trace.set_span_in_context(self.span, parent))
        values = parent.copy()  # what set_value does, for both keys at once
        values[SPAN_KEY] = self.span
        values[LEDGER_KEY] = self
        return Context(values)

    def add(self, ctx: Context, name: str, attributes: dict[str, Any]) -> None:
        index = next(self._added)
        limit = STATE.config.event_limit
        if limit is None or index < limit - _RESERVED_FOR_ERROR:
            self.span.add_event(name, attributes)
        elif limit == 0:  # no span can hold an event
            DROPPED.add(1, self._name, limit)
        else:
            room = max(limit - _RESERVED_FOR_ERROR, 0)
            self._continuation((index - room) // limit, ctx).add_event(name, attributes)

    def _continuation(self, number: int, ctx: Context) -> trace.Span:
        """The ``number``-th continuation span (from 0), started on first use; the span itself once ended."""
        with _CONTINUATIONS_LOCK:
            continuations = self._state.setdefault(_SPANS, [])
            if continuations is _ENDED:
                return self.span
            while len(continuations) <= number:
                scope = ctx.get(SCOPE_KEY)
                attributes: dict[str, Any] = dict(scope.stamp) if isinstance(scope, Scope) else {}
                attributes[sc.WORKLOG_CONTINUATION] = len(continuations) + 1
                parent = trace.set_span_in_context(self.span, ctx)
                name = sc.SPAN_CONTINUATION.format(name=self._name)
                span = self._tracer.start_span(name, context=parent, attributes=attributes)
                if isinstance(scope, Scope) and scope.workspace is not None:
                    scope.workspace.live.add(span)  # open work that format_response reads
                continuations.append(span)
            return continuations[number]

    def close(self) -> None:
        """End the continuation spans; called just before the span itself ends."""
        continuations = self._state.setdefault(_SPANS, _ENDED)  # marks an ended ledger, or finds its spans
        if continuations is _ENDED:
            return
        with _CONTINUATIONS_LOCK:  # one may be starting in another thread: end it too
            self._state[_SPANS] = _ENDED
        for span in continuations:
            span.end()


def add_event(span: trace.Span, ctx: Context, name: str, attributes: dict[str, Any]) -> None:
    """Add an event to ``span``, the current span of ``ctx``, through its ledger when otel_worklog started it."""
    ledger: EventLedger | None = ctx.get(LEDGER_KEY)  # type: ignore[assignment]  # our own key: only we set it
    if ledger is not None and ledger.span is span:
        ledger.add(ctx, name, attributes)
    else:
        span.add_event(name, attributes)
