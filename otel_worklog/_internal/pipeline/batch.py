"""A bounded batch span processor that counts every span it does not export.

The SDK's ``BatchSpanProcessor`` drops spans past a 2,048-span queue, logging a
warning per span but keeping no count. A burst of agents easily makes tens of
thousands of spans in a second, while an OTLP exporter encodes about 30,000 a
second, so the queue here is far larger, still bounded, and every span that is
not exported is counted (:meth:`stats`): dropped from a full queue, failed, or
abandoned at shutdown's deadline. They are named in one rate-limited warning,
and in one more when shutdown ends.

Export runs under ``suppress_instrumentation`` on the processor's own thread.
Flush and shutdown each have a deadline that holds whatever the exporter does:
shutdown stops taking batches at its deadline, counts what is left, and never
waits for an export (or an exporter's own shutdown) past it. A processor
inherited through ``fork()`` starts afresh in the child: new locks, a new
thread, an empty queue (the parent exports its own spans).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from otel_worklog._internal.forks import watch_forks
from otel_worklog._internal.pipeline.bounded import run_until
from otel_worklog._internal.pipeline.sizing import BatchLimit
from otel_worklog._internal.sdk_compat import suppressed_context

logger = logging.getLogger("otel_worklog")

_LOSS_REPORT_INTERVAL_S: Final = 10.0


@dataclass(frozen=True, slots=True)
class ExportStats:
    """Counts of one exporter's pipeline since it was configured (after ``shutdown()``: its final counts).

    ``queued`` spans wait for export; ``failed`` ones the exporter could not send; ``dropped`` ones
    found the queue full (or ended after shutdown); ``abandoned`` ones were still queued, or in an
    export that had not finished, when shutdown's deadline passed.
    """

    exporter: str
    queued: int
    exported: int
    failed: int
    dropped: int
    abandoned: int = 0


def _weight(limit: BatchLimit, span: ReadableSpan) -> int:
    try:
        return limit.weigh(span)
    except Exception:  # a span of an odd type: it still goes, counted as light
        logger.debug("otel_worklog: could not weigh span %r", span, exc_info=True)
        return 0


class BoundedBatchSpanProcessor(SpanProcessor):
    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int,
        max_export_batch_size: int,
        schedule_delay_s: float,
        name: str | None = None,
        limit: BatchLimit | None = None,
    ) -> None:
        self.exporter = exporter
        self.name = name or type(exporter).__name__
        self._max_queue = max_queue_size
        self._batch_size = min(max_export_batch_size, max_queue_size)
        self._limit = limit
        self._delay = schedule_delay_s
        self._stopping = False
        #: Shutdown's deadline (monotonic), once shutdown has begun: no batch is taken past it.
        self._deadline: float | None = None
        self._start_afresh()
        watch_forks(self, BoundedBatchSpanProcessor._start_afresh)

    def _start_afresh(self) -> None:
        """Set up the queue, locks, counts and worker thread (again, in a forked child).

        A child inherits the parent's locks in whatever state the parent's other threads held them
        (held forever in the child, whose copy of those threads does not exist), and no threads.
        """
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._count_lock = threading.Lock()
        #: Notified (under the count lock) each time an export ends, for flushes waiting on the worker.
        self._exported_one = threading.Condition(self._count_lock)
        self._wake = threading.Event()
        self._exported = self._failed = self._dropped = self._abandoned = 0
        self._reported = (0, 0, 0)
        self._last_report = 0.0
        #: Spans in the export under way, and whether shutdown already counted them as abandoned.
        self._in_flight = 0
        self._in_flight_abandoned = False
        self._worker = threading.Thread(target=self._run, name=f"otel-worklog-export-{self.name}", daemon=True)
        if not self._stopping:
            self._worker.start()

    # -- SpanProcessor -----------------------------------------------------
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
        if len(self._queue) >= self._batch_size and not self._wake.is_set():
            self._wake.set()  # once: setting an Event takes its lock, on the app's thread, for every span of a burst

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Have the worker export everything queued, then flush the exporter, within the timeout.

        The caller only waits: an export (which may wait for a backend or a locked store) never runs on
        its thread, so the timeout holds. False when spans were still waiting at the timeout.
        """
        deadline = time.monotonic() + timeout_millis / 1000
        if threading.current_thread() is self._worker:
            return not self._queue  # called from inside an export: the worker cannot wait for itself
        self._wake.set()
        with self._exported_one:
            while self._queue or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0 or not self._worker.is_alive():
                    return False
                self._exported_one.wait(left)
        return bool(self.exporter.force_flush(max(0, int((deadline - time.monotonic()) * 1000))))

    def shutdown(self, timeout_millis: int = 30_000) -> None:
        """Export what is queued until the deadline, then count the rest as abandoned; never waits past it."""
        if self._stopping:
            return
        deadline = time.monotonic() + timeout_millis / 1000
        self._deadline = deadline
        self._stopping = True
        self._wake.set()
        if self._worker.is_alive():
            self._worker.join(max(0.0, deadline - time.monotonic()))
        self._abandon_the_rest()
        self._stop_exporter(deadline)
        self._report_losses(force=True)

    # -- internals ---------------------------------------------------------
    def stats(self) -> ExportStats:
        with self._count_lock:
            return ExportStats(
                self.name,
                len(self._queue) + (0 if self._in_flight_abandoned else self._in_flight),
                self._exported,
                self._failed,
                self._dropped,
                self._abandoned,
            )

    def _count_drop(self) -> None:
        with self._count_lock:
            self._dropped += 1
        if not self._stopping:
            self._report_losses()

    def _abandon_the_rest(self) -> None:
        """Count what shutdown's deadline left: the queue, and the export still under way (if any)."""
        with self._count_lock:
            left = 0
            while True:
                try:
                    self._queue.popleft()
                except IndexError:
                    break
                left += 1
            if self._in_flight and not self._in_flight_abandoned:
                self._in_flight_abandoned = True
                left += self._in_flight
            self._abandoned += left

    def _stop_exporter(self, deadline: float) -> None:
        """Shut the exporter down, waiting for it no later than ``deadline`` (it may be stuck in an export)."""
        run_until(self.exporter.shutdown, deadline, f"stop-{self.name}")

    def _report_losses(self, force: bool = False) -> None:
        """One warning for the spans not exported since the last one (at most every 10 s, unless ``force``)."""
        now = time.monotonic()
        with self._count_lock:
            totals = (self._abandoned, self._failed, self._dropped)
            new = [total - reported for total, reported in zip(totals, self._reported, strict=True)]
            if not any(count > 0 for count in new) or (not force and now - self._last_report < _LOSS_REPORT_INTERVAL_S):
                return
            self._reported = totals
            self._last_report = now
        abandoned, failed, dropped = new
        parts = []
        if abandoned > 0:
            parts.append(f"{abandoned} still queued or in an export at the shutdown deadline")
        if failed > 0:
            reason = getattr(self.exporter, "failure_reason", None)
            parts.append(f"{failed} failed" + (f": {reason}" if reason else ""))
        if dropped > 0:
            parts.append(
                f"{dropped} dropped (the queue was full at {self._max_queue}, or they ended after shutdown;"
                " raise OTEL_WORKLOG_MAX_QUEUE_SIZE or check the backend)"
            )
        logger.warning(
            "otel_worklog: %d spans were not exported to %s: %s. wl.export_stats() has the totals.",
            sum(count for count in new if count > 0),
            self.name,
            "; ".join(parts),
        )

    def _run(self) -> None:
        while True:
            if not self._stopping:
                self._wake.wait(self._delay)
                self._wake.clear()
            try:
                self._drain()
            except Exception:  # never lose the worker: the next round tries again
                logger.warning("otel_worklog: the export worker for %s failed", self.name, exc_info=True)
            if self._stopping:
                return  # shutdown reports what is left, in its one warning
            self._report_losses()

    def _drain(self) -> None:
        """Export queued spans until the queue is empty, or until shutdown's deadline once it has begun."""
        while self._queue:
            stop = self._deadline
            if stop is not None and time.monotonic() >= stop:
                return
            batch = self._take_batch()
            if batch:
                self._export(batch)

    def _take_batch(self) -> Sequence[ReadableSpan]:
        """The next batch: up to the batch size, and within the exporter's limit (see ``sizing``)."""
        queue = self._queue
        limit = self._limit
        batch: list[ReadableSpan] = []
        with self._count_lock:
            try:
                if limit is None:
                    for _ in range(self._batch_size):
                        batch.append(queue.popleft())
                else:
                    total = 0
                    for _ in range(self._batch_size):
                        weight = _weight(limit, queue[0])
                        if batch and total + weight > limit.most:
                            break  # a span over the limit on its own still goes, alone
                        batch.append(queue.popleft())
                        total += weight
            except IndexError:  # the queue ran out (or shutdown took the rest meanwhile)
                pass
            self._in_flight = len(batch)
        return batch

    def _export(self, batch: Sequence[ReadableSpan]) -> None:
        token = otel_context.attach(suppressed_context())
        try:
            result = self.exporter.export(batch)
        except Exception:
            logger.warning("otel_worklog: exporter %s raised; %d spans lost", self.name, len(batch), exc_info=True)
            result = SpanExportResult.FAILURE
        finally:
            otel_context.detach(token)
        count = len(batch)
        with self._count_lock:
            if self._in_flight_abandoned:  # shutdown gave up on this export; it finished after all
                self._in_flight_abandoned = False
                if result is SpanExportResult.SUCCESS:
                    self._abandoned -= count
                    self._exported += count
            elif result is SpanExportResult.SUCCESS:
                self._exported += count
            else:
                self._failed += count
            self._in_flight = 0
            self._exported_one.notify_all()
