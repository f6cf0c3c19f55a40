"""Events past a span's event limit: kept on a continuation span, or counted and warned about.

The SDK keeps a span's last ``OTEL_SPAN_EVENT_COUNT_LIMIT`` events (128 by default) and drops
the oldest without a word, so a long agent run would lose its first work-log entries. Every
span otel_worklog starts carries an :class:`EventLedger` in its context. The ledger counts the
events added through it; once the span is full, the next entries go to a child span
``continued: {name}`` with the same workspace and bot scope, ended with its parent. On a span
otel_worklog did not start (a foreign span) no continuation is possible: entries past the limit
are counted, and the first one is warned about.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import weakref
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope
from otel_worklog._internal.record.state import STATE

logger = logging.getLogger("otel_worklog")

LEDGER_KEY: Final = otel_context.create_key("otel_worklog.event_ledger")
#: Slots a span keeps free for the ``exception`` event recorded when it fails.
_RESERVED_FOR_ERROR: Final = 1


class DroppedEntries:
    """Work-log entries the SDK's event limit pushed out, process-wide; the first one is warned about."""

    __slots__ = ("_count", "_counter")

    def __init__(self) -> None:
        self._counter = itertools.count(1)  # advanced in C under the GIL: no lock on the entry path
        self._count = 0

    @property
    def count(self) -> int:
        return self._count

    def add(self, span_name: str, limit: int) -> None:
        number = next(self._counter)
        if number > self._count:
            self._count = number
        if number == 1:
            logger.warning(
                "otel_worklog: span %r already holds %d events (OTEL_SPAN_EVENT_COUNT_LIMIT), and the SDK keeps "
                "only the newest; entries past the limit on spans otel_worklog did not start are lost. Log inside "
                "wl.bot()/wl.workspace()/@wl.tool, whose entries continue on a new span, or raise the limit. "
                "The number lost is reported at shutdown.",
                span_name,
                limit,
            )


DROPPED: Final = DroppedEntries()


class EventLedger:
    """The events otel_worklog added to one of its own spans, and the continuation spans past the limit."""

    __slots__ = ("_added", "_closed", "_continuations", "_limit", "_lock", "_name", "_room", "_tracer", "span")

    def __init__(self, span: trace.Span, name: str, tracer: trace.Tracer) -> None:
        self.span = span
        self._name = name
        self._tracer = tracer
        self._limit = STATE.config.event_limit
        #: Events the span itself takes; one slot stays free for an ``exception`` event.
        self._room = max(self._limit - _RESERVED_FOR_ERROR, 0) if self._limit is not None else math.inf
        self._added = itertools.count()  # advanced in C under the GIL: safe across threads
        self._continuations: list[trace.Span] = []
        self._closed = False
        self._lock = threading.Lock()

    def add(self, ctx: Context, name: str, attributes: dict[str, Any]) -> None:
        index = next(self._added)
        if index < self._room:
            self.span.add_event(name, attributes)
        else:
            self._overflow(index, ctx, name, attributes)

    def _overflow(self, index: int, ctx: Context, name: str, attributes: dict[str, Any]) -> None:
        limit = self._limit
        if not limit:  # an event limit of 0: no span can hold an entry
            DROPPED.add(self._name, 0)
            return
        target = self._continuation((index - int(self._room)) // limit, ctx)
        target.add_event(name, attributes)

    def _continuation(self, number: int, ctx: Context) -> trace.Span:
        """The ``number``-th continuation span (from 0), started on first use; the span itself once closed."""
        with self._lock:
            if self._closed:
                return self.span
            while len(self._continuations) <= number:
                scope = ctx.get(SCOPE_KEY)
                attributes: dict[str, Any] = dict(scope.stamp) if isinstance(scope, Scope) else {}
                attributes[sc.WORKLOG_CONTINUATION] = len(self._continuations) + 1
                parent = trace.set_span_in_context(self.span, ctx)
                self._continuations.append(
                    self._tracer.start_span(
                        sc.SPAN_CONTINUATION.format(name=self._name), context=parent, attributes=attributes
                    )
                )
            return self._continuations[number]

    def close(self) -> None:
        """End the continuation spans; called just before the span itself ends."""
        with self._lock:
            self._closed = True
            continuations, self._continuations = self._continuations, []
        for span in continuations:
            span.end()


def track(span: trace.Span, name: str, tracer: trace.Tracer, ctx: Context) -> Context:
    """``ctx`` with ``span`` current and a new ledger for it."""
    return otel_context.set_value(LEDGER_KEY, EventLedger(span, name, tracer), trace.set_span_in_context(span, ctx))


class _ForeignCount:
    __slots__ = ("count", "limit", "span")

    def __init__(self, span: trace.Span | None) -> None:
        self.span: weakref.ref[trace.Span] | None = None if span is None else weakref.ref(span)
        self.count = 0
        self.limit = STATE.config.event_limit


_FOREIGN: weakref.WeakKeyDictionary[trace.Span, _ForeignCount] = weakref.WeakKeyDictionary()
#: For spans that cannot be weakly referenced: never over any limit, so never counted.
_NOT_COUNTED: Final = _ForeignCount(None)
_NOT_COUNTED.limit = None
#: The foreign span counted last: entries mostly come in runs on one span.
_last: _ForeignCount = _NOT_COUNTED


def _foreign_count(span: trace.Span) -> _ForeignCount:
    global _last
    last = _last
    if last.span is not None and last.span() is span:
        return last
    try:
        found = _FOREIGN.get(span)
        if found is None:
            found = _FOREIGN.setdefault(span, _ForeignCount(span))
    except TypeError:  # a span that cannot be weakly referenced or hashed
        return _NOT_COUNTED
    _last = found
    return found


def add_event(span: trace.Span, ctx: Context, name: str, attributes: dict[str, Any]) -> None:
    """Add an event to ``span``, the current span of ``ctx``; nothing past the event limit is lost silently."""
    ledger: EventLedger | None = ctx.get(LEDGER_KEY)  # type: ignore[assignment]  # our own key: only we set it
    if ledger is not None and ledger.span is span:
        ledger.add(ctx, name, attributes)
        return
    counted = _foreign_count(span)
    counted.count += 1
    if counted.limit is not None and counted.count > counted.limit:
        DROPPED.add(getattr(span, "name", type(span).__name__), counted.limit)
    span.add_event(name, attributes)
