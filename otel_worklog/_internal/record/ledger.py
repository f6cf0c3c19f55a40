"""Events past a span's event limit: kept on a continuation span, or counted and warned about.

The SDK keeps a span's last ``OTEL_SPAN_EVENT_COUNT_LIMIT`` events (128 by default) and drops
the oldest without a word, so a long agent run would lose its first work-log entries. Every
span otel_worklog starts has an :class:`EventLedger` in its context. The ledger counts the
events added through it; once the span is full, the next entries go to a child span
``continued: {name}`` with the same workspace and bot scope, ended with its parent. On a span
otel_worklog did not start (a foreign span) no continuation is possible: entries past the limit
are counted, and the first one is warned about.
"""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.record.current_span import NO_KEY, SPAN_KEY
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope
from otel_worklog._internal.record.state import STATE

logger = logging.getLogger("otel_worklog")

LEDGER_KEY: Final = otel_context.create_key("otel_worklog.event_ledger")
_SPAN_KEY_KNOWN: Final = SPAN_KEY != NO_KEY
#: Slots a span keeps free for the ``exception`` event recorded when it fails.
_RESERVED_FOR_ERROR: Final = 1


class DroppedEntries:
    """Work-log entries the SDK's event limit pushed out, process-wide; the first one is warned about.

    Entries are counted per foreign span on the entry path (one increment); the total is summed
    only when asked for, from the spans still alive and those already collected.
    """

    __slots__ = ("_collected", "_lock", "_warned")

    def __init__(self) -> None:
        self._collected = 0
        self._warned = False
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        live = sum(counted.dropped() for counted in list(_FOREIGN.values()))
        with self._lock:
            return self._collected + live

    def add(self, dropped: int) -> None:
        """Count entries of a span that is gone (or that no span could hold)."""
        with self._lock:
            self._collected += dropped

    def warn(self, span_name: str, limit: int) -> None:
        """The first loss of the process, said once."""
        if self._warned:
            return
        self._warned = True
        logger.warning(
            "otel_worklog: span %r already holds %d events (OTEL_SPAN_EVENT_COUNT_LIMIT), and the SDK keeps "
            "only the newest; entries past the limit on spans otel_worklog did not start are lost. Log inside "
            "wl.bot()/wl.workspace()/@wl.tool, whose entries continue on a new span, or raise the limit. "
            "The number lost is reported at shutdown.",
            span_name,
            limit,
        )


DROPPED: Final = DroppedEntries()


#: Guards every ledger's continuation spans; reentrant, as starting a span runs processors that may log.
_CONTINUATIONS_LOCK: Final = threading.RLock()
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
        if not _SPAN_KEY_KNOWN:
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
            DROPPED.warn(self._name, 0)
            DROPPED.add(1)
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
                continuations.append(self._tracer.start_span(name, context=parent, attributes=attributes))
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


def _no_span() -> None:
    return None


class _ForeignCount:
    """Entries added to one span otel_worklog did not start; the span is weakly held."""

    __slots__ = ("count", "first_lost", "limit", "span")

    def __init__(self, span: trace.Span | None, limit: int | None) -> None:
        self.span: Callable[[], trace.Span | None] = _no_span if span is None else weakref.ref(span, self._collected)
        self.count = 0
        self.limit = limit
        #: The count at which the first entry is lost (never, without a limit).
        self.first_lost = -1 if limit is None else limit + 1

    def dropped(self) -> int:
        return max(self.count - self.limit, 0) if self.limit is not None else 0

    def _collected(self, _: object) -> None:
        DROPPED.add(self.dropped())


_FOREIGN: weakref.WeakKeyDictionary[trace.Span, _ForeignCount] = weakref.WeakKeyDictionary()
#: For spans that cannot be weakly referenced: never counted.
_NOT_COUNTED: Final = _ForeignCount(None, None)
#: The foreign span counted last: entries mostly come in runs on one span.
_last: _ForeignCount = _NOT_COUNTED


def _foreign_count(span: trace.Span) -> _ForeignCount:
    global _last
    try:
        found = _FOREIGN.get(span)
        if found is None:
            found = _FOREIGN.setdefault(span, _ForeignCount(span, STATE.config.event_limit))
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
    counted = _last
    if counted.span() is not span:
        counted = _foreign_count(span)
    counted.count += 1
    if counted.count == counted.first_lost:
        DROPPED.warn(getattr(span, "name", type(span).__name__), counted.first_lost - 1)
    span.add_event(name, attributes)
