"""The current context and span, read without the API's layers on every call.

``trace.get_current_span`` ends with ``isinstance(span, Span)`` against an ABC, and
``context.get_current`` goes through two Python calls to one ``ContextVar``: both are a
measurable share of what ``wl.decision`` adds to an event (``benchmarks/bench_core.py``). The
span's context key is found once through the public API, each concrete span type is checked
with that same ``isinstance`` the first time it is seen, and the context is read from the
runtime context's own variable when the API keeps it in one.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context


def _find_context_getter() -> Callable[[], Context]:
    """``ContextVar.get`` of the API's runtime context (the default, contextvars one), else the API's own call.

    Only when that variable holds exactly what ``get_current()`` returns, so another runtime context
    (``OTEL_PYTHON_CONTEXT``) is always asked through the API.
    """
    runtime = getattr(otel_context, "_RUNTIME_CONTEXT", None)
    variable = getattr(runtime, "_current_context", None)
    if type(runtime).__name__ != "ContextVarsRuntimeContext" or not isinstance(variable, contextvars.ContextVar):
        return otel_context.get_current
    try:
        if variable.get() is not otel_context.get_current():
            return otel_context.get_current
    except LookupError:  # a variable without a default: the API's call knows what to answer
        return otel_context.get_current
    return variable.get  # type: ignore[no-any-return]  # its default and every value set are Contexts


#: ``opentelemetry.context.get_current``, read in one C call where the runtime context allows.
current_context: Final[Callable[[], Context]] = _find_context_getter()

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
