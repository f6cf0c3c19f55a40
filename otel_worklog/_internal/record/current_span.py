"""The current span, read without the API's abstract-class check on every call.

``trace.get_current_span`` ends with ``isinstance(span, Span)`` against an ABC, which is a
measurable share of what ``wl.decision`` adds to an event (``benchmarks/bench_core.py``). The
span's context key is found once through the public API, and each concrete span type is checked
with that same ``isinstance`` the first time it is seen.
"""

from __future__ import annotations

from typing import Final

from opentelemetry import trace
from opentelemetry.context import Context

#: Never a key in any context: with it, every lookup takes the API's path.
NO_KEY: Final = "otel_worklog.span-key-unknown"


def _find_span_key() -> str:
    """The key ``set_span_in_context`` writes, learnt by writing into an empty context."""
    try:
        keys = list(trace.set_span_in_context(trace.INVALID_SPAN, Context()))
    except Exception:  # a context implementation we do not know: use the API every time
        return NO_KEY
    return keys[0] if len(keys) == 1 and isinstance(keys[0], str) else NO_KEY


SPAN_KEY: Final = _find_span_key()
#: False when the key could not be learnt: then a missing span proves nothing, and the API is asked.
SPAN_KEY_KNOWN: Final = SPAN_KEY != NO_KEY
#: Concrete types that passed the API's own ``isinstance(value, Span)`` check.
KNOWN_SPAN_TYPES: Final[set[type]] = set()


def current_span(ctx: Context) -> trace.Span:
    """``trace.get_current_span(ctx)``, with the type check done once per span class."""
    span = ctx.get(SPAN_KEY)
    if type(span) in KNOWN_SPAN_TYPES:
        return span  # type: ignore[return-value]  # its type passed the API's isinstance check
    if span is None and SPAN_KEY_KNOWN:  # no span at all, as in an app that never called configure()
        return trace.INVALID_SPAN
    return slow_current_span(ctx)


def slow_current_span(ctx: Context) -> trace.Span:
    """The API's lookup; remembers the span's type when the API accepted the very object in ``ctx``."""
    span = trace.get_current_span(ctx)
    if span is ctx.get(SPAN_KEY):
        KNOWN_SPAN_TYPES.add(type(span))
    return span
