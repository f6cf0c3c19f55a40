"""The span processor otel_worklog adds to a tracer provider.

It does two things. On start, it stamps ``workspace.id`` and ``bot.name`` from
the current scope on every span, including spans of other instrumentations
(an HTTP client inside a tool), so TraceQL and span metrics can filter on any
span. And it fans out to the processors of the current configuration, which a
second ``configure()`` swaps as one unit: the provider never holds stale or
duplicate processors of ours.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.pipeline.batch import BoundedBatchSpanProcessor
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope
from otel_worklog._internal.settings import SHUTDOWN_TIMEOUT_S, resolve


class WorklogSpanProcessor(SpanProcessor):
    def __init__(self) -> None:
        self._children: tuple[SpanProcessor, ...] = ()

    @property
    def children(self) -> tuple[SpanProcessor, ...]:
        return self._children

    def replace_children(self, children: Iterable[SpanProcessor]) -> tuple[SpanProcessor, ...]:
        old, self._children = self._children, tuple(children)
        return old

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        scope = otel_context.get_value(SCOPE_KEY, parent_context)
        if type(scope) is Scope and scope.stamp:
            span.set_attributes(scope.stamp)
        for child in self._children:
            try:
                child.on_start(span, parent_context)
            except Exception:
                log_internal_error()

    def on_end(self, span: ReadableSpan) -> None:
        for child in self._children:
            try:
                child.on_end(span)
            except Exception:
                log_internal_error()

    def shutdown(self) -> None:
        shutdown_children(self._children, resolve(SHUTDOWN_TIMEOUT_S))  # attached until done: see configure.shutdown
        self.replace_children(())

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return flush_children(self._children, timeout_millis / 1000)


def flush_children(children: Iterable[SpanProcessor], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    ok = True
    for child in children:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        try:
            ok = bool(child.force_flush(remaining_ms)) and ok
        except Exception:
            log_internal_error()
            ok = False
    return ok


def shutdown_children(children: Iterable[SpanProcessor], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for child in children:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        try:
            if isinstance(child, BoundedBatchSpanProcessor):
                child.shutdown(remaining_ms)
            else:
                child.shutdown()
        except Exception:
            log_internal_error()
