"""A bounded batch span processor that counts what it drops.

The SDK's ``BatchSpanProcessor`` drops spans past a 2,048-span queue, logging a
warning per span but keeping no count. A burst of agents easily makes tens of
thousands of spans in a second, while an OTLP exporter encodes about 30,000 a
second, so the queue here is far larger, still bounded, and every drop is
counted (:meth:`stats`) and reported in one rate-limited warning.
Export runs under ``suppress_instrumentation`` and each flush or shutdown has a
deadline, so a dead backend can never hold the app.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_worklog._internal.sdk_compat import suppressed_context

logger = logging.getLogger("otel_worklog")

_DROP_REPORT_INTERVAL_S = 10.0


@dataclass(frozen=True, slots=True)
class ExportStats:
    """Counts of one exporter's pipeline since it was configured."""

    exporter: str
    queued: int
    exported: int
    failed: int
    dropped: int


class BoundedBatchSpanProcessor(SpanProcessor):
    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int,
        max_export_batch_size: int,
        schedule_delay_s: float,
        name: str | None = None,
    ) -> None:
        self.exporter = exporter
        self.name = name or type(exporter).__name__
        self._max_queue = max_queue_size
        self._batch_size = min(max_export_batch_size, max_queue_size)
        self._delay = schedule_delay_s
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._export_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._exported = 0
        self._failed = 0
        self._dropped = 0
        self._dropped_reported = 0
        self._last_report = 0.0
        self._start_worker()
        if hasattr(os, "register_at_fork"):
            ref = weakref.ref(self)

            def after_fork_in_child() -> None:
                processor = ref()
                if processor is not None:
                    processor._after_fork()

            os.register_at_fork(after_in_child=after_fork_in_child)

    def _start_worker(self) -> None:
        self._worker = threading.Thread(target=self._run, name=f"otel-worklog-export-{self.name}", daemon=True)
        self._worker.start()

    def _after_fork(self) -> None:
        # The worker thread does not survive fork(); a child gets its own, and none of the parent's queue.
        self._queue.clear()
        self._export_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._wake = threading.Event()
        self._start_worker()

    # -- SpanProcessor -----------------------------------------------------
    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if self._stopping:
            self._count_drop()
            return
        if not span.context.trace_flags.sampled:
            return
        if len(self._queue) >= self._max_queue:
            self._count_drop()
            return
        self._queue.append(span)
        if len(self._queue) >= self._batch_size:
            self._wake.set()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._drain(time.monotonic() + timeout_millis / 1000)

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        if self._stopping:
            return
        deadline = time.monotonic() + timeout_millis / 1000
        self._stopping = True
        self._wake.set()
        self._worker.join(max(0.0, deadline - time.monotonic()))
        self._drain(deadline)
        self._report_drops(force=True)
        try:
            self.exporter.shutdown()
        except Exception:
            logger.warning("otel_worklog: exporter %s failed to shut down", self.name, exc_info=True)

    # -- internals ---------------------------------------------------------
    def stats(self) -> ExportStats:
        return ExportStats(self.name, len(self._queue), self._exported, self._failed, self._dropped)

    def _count_drop(self) -> None:
        with self._count_lock:
            self._dropped += 1
        self._report_drops()

    def _report_drops(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._dropped == self._dropped_reported or (not force and now - self._last_report < _DROP_REPORT_INTERVAL_S):
            return
        self._last_report = now
        new = self._dropped - self._dropped_reported
        self._dropped_reported = self._dropped
        logger.warning(
            "otel_worklog: dropped %d spans for %s (queue full at %d; %d dropped in total). "
            "Raise OTEL_WORKLOG_MAX_QUEUE_SIZE or check the backend.",
            new,
            self.name,
            self._max_queue,
            self._dropped,
        )

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._delay)
            self._wake.clear()
            self._drain(None)
            self._report_drops()

    def _drain(self, deadline: float | None) -> bool:
        """Export queued spans until empty (or past ``deadline``); True when the queue emptied."""
        if deadline is None:
            acquired = self._export_lock.acquire()
        else:
            acquired = self._export_lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        if not acquired:
            return False
        try:
            while self._queue:
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                batch = self._take_batch()
                self._export(batch)
            return True
        finally:
            self._export_lock.release()

    def _take_batch(self) -> Sequence[ReadableSpan]:
        queue = self._queue
        count = min(self._batch_size, len(queue))
        return [queue.popleft() for _ in range(count)]

    def _export(self, batch: Sequence[ReadableSpan]) -> None:
        token = otel_context.attach(suppressed_context())
        try:
            result = self.exporter.export(batch)
        except Exception:
            logger.warning("otel_worklog: exporter %s raised; %d spans lost", self.name, len(batch), exc_info=True)
            result = SpanExportResult.FAILURE
        finally:
            otel_context.detach(token)
        if result is SpanExportResult.SUCCESS:
            self._exported += len(batch)
        else:
            self._failed += len(batch)
