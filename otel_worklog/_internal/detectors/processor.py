"""The live detector span processor: the seeds' agent-work-analyzer, on spans as they end.

It keeps only small bounded state in memory (time windows per bot and fingerprint or tool,
running totals per session, a streak counter per bot, the bot spans still open) and never
touches disk or network on the hot path. A watchdog thread looks for bot spans with no new
activity; its clock is injectable so tests never wait in real time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.trace import StatusCode

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.detectors import alerts
from otel_worklog._internal.detectors.alerts import RECOMMENDATIONS, Alert
from otel_worklog._internal.detectors.fingerprint import fingerprint
from otel_worklog._internal.detectors.settings import (
    COST_ANOMALY,
    ERROR_LOOP,
    LOW_CONFIDENCE,
    STUCK_AGENT,
    TOOL_LOOP,
    DetectorConfig,
)

logger = logging.getLogger("otel_worklog")

_EVENT_EXCEPTION: Final = "exception"
_EVENT_ERROR: Final = sc.event_name("error")
_EVENT_DECISION: Final = sc.event_name("decision")
_EVENT_UNCERTAINTY: Final = sc.event_name("uncertainty")
_INTERESTING_EVENTS: Final = frozenset({_EVENT_EXCEPTION, _EVENT_ERROR, _EVENT_DECISION, _EVENT_UNCERTAINTY})
_INVOKE_AGENT_PREFIX: Final = sc.SPAN_INVOKE_AGENT.split("{", 1)[0]


def _attrs(span: ReadableSpan) -> Any:
    """The span's attribute dict without the read-only copy ``span.attributes`` makes (hot path)."""
    bounded = span._attributes  # noqa: SLF001 - measured: the public property costs more than the detector
    if bounded is None:
        return {}
    return getattr(bounded, "_dict", bounded)


def _hex_trace(trace_id: int) -> str:
    return format(trace_id, "032x")


def _hex_span(span_id: int) -> str:
    return format(span_id, "016x")


@dataclass
class _OpenBot:
    span: ReadableSpan
    bot: str
    workspace_id: str | None
    trace_id: int
    span_id: int
    last_activity: float
    events_seen: int = 0


class _Window:
    """Timestamps of one key within a sliding window (bounded by the threshold it serves)."""

    __slots__ = ("times",)

    def __init__(self, maxlen: int) -> None:
        self.times: deque[float] = deque(maxlen=maxlen)

    def add(self, now: float, window_s: float) -> int:
        self.times.append(now)
        return self.prune(now, window_s)

    def prune(self, now: float, window_s: float) -> int:
        times = self.times
        edge = now - window_s
        while times and times[0] <= edge:
            times.popleft()
        return len(times)


class DetectorProcessor(SpanProcessor):
    """Error loops, tool loops, stuck agents, cost anomalies and low-confidence streaks, live."""

    def __init__(
        self,
        config: DetectorConfig,
        tracer_provider: TracerProvider | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        watchdog: bool = True,
    ) -> None:
        self.config = config
        self._clock = clock
        provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
        self._tracer = provider.get_tracer(sc.INSTRUMENTATION_SCOPE)
        self._lock = threading.Lock()
        self._error_on = ERROR_LOOP in config.enabled
        self._tool_on = TOOL_LOOP in config.enabled
        self._stuck_on = STUCK_AGENT in config.enabled
        self._cost_on = COST_ANOMALY in config.enabled
        self._streak_on = LOW_CONFIDENCE in config.enabled
        self._events_on = self._error_on or self._streak_on
        self._max_keys = config.max_keys
        self._errors: OrderedDict[tuple[str, str], _Window] = OrderedDict()
        self._error_samples: dict[tuple[str, str], str] = {}
        self._child_errors: dict[tuple[int, int], str] = {}
        self._tools: OrderedDict[tuple[str, str], _Window] = OrderedDict()
        self._sessions: OrderedDict[int, list[float]] = OrderedDict()
        self._streaks: OrderedDict[str, int] = OrderedDict()
        self._open: dict[int, _OpenBot] = {}
        self._open_by_bot: dict[tuple[int, str], _OpenBot] = {}
        self._active: set[tuple[str, ...]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self._stuck_on and watchdog:
            self._thread = threading.Thread(target=self._watch, name="otel-worklog-watchdog", daemon=True)
            self._thread.start()

    # --- SpanProcessor ---------------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        if not self._stuck_on:
            return
        try:
            attrs = _attrs(span)
            if sc.WORKLOG_ALERT_KIND in attrs:
                return
            bot = attrs.get(sc.BOT_NAME)
            trace_id = span.context.trace_id
            if bot is not None and (
                attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OPERATION_INVOKE_AGENT
                or span.name.startswith(_INVOKE_AGENT_PREFIX)
            ):
                record = _OpenBot(
                    span, bot, attrs.get(sc.WORKSPACE_ID), trace_id, span.context.span_id, self._clock()
                )
                with self._lock:
                    if len(self._open) < self._max_keys:
                        self._open[record.span_id] = record
                        self._open_by_bot[(trace_id, bot)] = record
                return
            if self._open:
                self._touch(trace_id, bot, span.parent.span_id if span.parent is not None else None)
        except Exception:
            _internal_error()

    def on_end(self, span: ReadableSpan) -> None:
        try:
            attrs = _attrs(span)
            if sc.WORKLOG_ALERT_KIND in attrs:
                return
            bot = attrs.get(sc.BOT_NAME)
            context = span.context
            trace_id = context.trace_id
            fired: list[Alert] | None = None
            record = None
            if self._stuck_on and self._open:
                record = self._close_or_touch(context.span_id, trace_id, bot, span)
            if self._tool_on:
                tool = attrs.get(sc.GEN_AI_TOOL_NAME)
                if tool is not None:
                    fired = self._tool_call(span, str(tool), bot, attrs, fired)
            if self._events_on and (span._events or span.status.status_code is StatusCode.ERROR):  # noqa: SLF001
                seen = record.events_seen if record is not None else 0
                fired = self._scan(span, bot, attrs, span.events[seen:], fired)
            if self._cost_on:
                fired = self._cost(span, bot, attrs, fired)
            if fired:
                self._raise(fired)
        except Exception:
            _internal_error()

    def shutdown(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5.0)
        self._thread = None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    # --- Stuck agents ----------------------------------------------------------------------------
    def _touch(self, trace_id: int, bot: Any, parent_span_id: int | None) -> None:
        record = self._open_by_bot.get((trace_id, bot)) if bot is not None else None
        if record is None and parent_span_id is not None:
            record = self._open.get(parent_span_id)
        if record is not None:
            record.last_activity = self._clock()
            self._active.discard((STUCK_AGENT, _hex_span(record.span_id)))

    def _close_or_touch(self, span_id: int, trace_id: int, bot: Any, span: ReadableSpan) -> _OpenBot | None:
        with self._lock:
            record = self._open.pop(span_id, None)
            if record is not None:
                if self._open_by_bot.get((record.trace_id, record.bot)) is record:
                    del self._open_by_bot[(record.trace_id, record.bot)]
                self._active.discard((STUCK_AGENT, _hex_span(span_id)))
                return record
        self._touch(trace_id, bot, span.parent.span_id if span.parent is not None else None)
        return None

    def tick(self) -> list[Alert]:
        """One watchdog pass: new entries on open bot spans, stale windows, stuck bots. Returns the alerts."""
        now = self._clock()
        fired: list[Alert] = []
        with self._lock:
            records = list(self._open.values())
        for record in records:
            events = record.span.events
            if len(events) > record.events_seen:
                new = events[record.events_seen :]
                record.events_seen = len(events)
                record.last_activity = now
                self._active.discard((STUCK_AGENT, _hex_span(record.span_id)))
                if self._events_on:
                    attrs = _attrs(record.span)
                    self._scan(record.span, record.bot, attrs, new, fired, alive=True)
            idle = now - record.last_activity
            key = (STUCK_AGENT, _hex_span(record.span_id))
            if idle > self.config.stuck_agent_threshold_s and key not in self._active:
                self._active.add(key)
                fired.append(
                    Alert(
                        kind=STUCK_AGENT,
                        recommendation=RECOMMENDATIONS[STUCK_AGENT],
                        message=f"{record.bot} has shown no activity for {idle:.0f}s in {record.span.name}",
                        key=key,
                        bot=record.bot,
                        workspace_id=record.workspace_id,
                        trace_id=_hex_trace(record.trace_id),
                        span_id=_hex_span(record.span_id),
                        time_ns=time.time_ns(),
                        evidence={
                            "idle_s": round(idle, 3),
                            "threshold_s": self.config.stuck_agent_threshold_s,
                            "span_name": record.span.name,
                        },
                    )
                )
        self._prune_windows(now)
        if fired:
            self._raise(fired)
        return fired

    def _watch(self) -> None:
        interval = min(self.config.stuck_agent_interval_s, self.config.stuck_agent_threshold_s / 2)
        while not self._stop.wait(interval):
            try:
                self.tick()
            except Exception:
                logger.warning("otel_worklog: detector watchdog pass failed", exc_info=True)

    def _prune_windows(self, now: float) -> None:
        """Clear conditions whose window has emptied below the threshold, and forget empty windows."""
        with self._lock:
            for table, window_s, threshold, kind in (
                (self._errors, self.config.error_loop_window_s, self.config.error_loop_threshold, ERROR_LOOP),
                (self._tools, self.config.tool_loop_window_s, self.config.tool_loop_threshold, TOOL_LOOP),
            ):
                for key in list(table):
                    count = table[key].prune(now, window_s)
                    if count < threshold:
                        self._active.discard((kind, *key))
                    if count == 0:
                        del table[key]
                        if kind == ERROR_LOOP:
                            self._error_samples.pop(key, None)  # type: ignore[arg-type]

    # --- Tool loops ------------------------------------------------------------------------------
    def _tool_call(
        self, span: ReadableSpan, tool: str, bot: Any, attrs: Any, fired: list[Alert] | None
    ) -> list[Alert] | None:
        now = self._clock()
        key = (str(bot) if bot is not None else "", tool)
        cfg = self.config
        with self._lock:
            window = self._bounded(self._tools, key, cfg.tool_loop_threshold)
            count = window.add(now, cfg.tool_loop_window_s)
            condition = (TOOL_LOOP, *key)
            if count < cfg.tool_loop_threshold:
                self._active.discard(condition)
                return fired
            if condition in self._active:
                return fired
            self._active.add(condition)
        alert = Alert(
            kind=TOOL_LOOP,
            recommendation=RECOMMENDATIONS[TOOL_LOOP],
            message=f"{key[0] or 'a bot'} called {tool} {count} times in {cfg.tool_loop_window_s:g}s",
            key=condition,
            bot=bot if bot is not None else None,
            workspace_id=attrs.get(sc.WORKSPACE_ID),
            trace_id=_hex_trace(span.context.trace_id),
            span_id=_hex_span(span.context.span_id),
            time_ns=time.time_ns(),
            evidence={
                "tool": tool,
                "count": count,
                "window_s": cfg.tool_loop_window_s,
                "threshold": cfg.tool_loop_threshold,
            },
        )
        return [*(fired or ()), alert]

    # --- Errors and low-confidence decisions --------------------------------------------------------
    def _scan(
        self,
        span: ReadableSpan,
        bot: Any,
        attrs: Any,
        events: Iterable[Any],
        fired: list[Alert] | None,
        *,
        alive: bool = False,
    ) -> list[Alert] | None:
        context = span.context
        own_error: str | None = None
        for event in events:
            name = event.name
            if name not in _INTERESTING_EVENTS:
                continue
            event_attrs = event.attributes or {}
            if name == _EVENT_EXCEPTION or name == _EVENT_ERROR:
                if not self._error_on:
                    continue
                if name == _EVENT_EXCEPTION:
                    error_type = str(event_attrs.get("exception.type", "") or attrs.get(sc.ERROR_TYPE, ""))
                    message = str(event_attrs.get("exception.message", ""))
                else:
                    error_type = _EVENT_ERROR
                    message = str(event_attrs.get(sc.WORKLOG_MESSAGE, ""))
                fp = fingerprint(error_type, message)
                if name == _EVENT_EXCEPTION:
                    if own_error == fp:
                        continue
                    own_error = fp
                    with self._lock:
                        propagated = self._child_errors.pop((context.trace_id, context.span_id), None)
                    if propagated == fp:
                        continue  # the same exception bubbling up from a child span: counted once
                fired = self._error(span, bot, attrs, fp, message, fired)
            elif self._streak_on:
                fired = self._decision(span, bot, attrs, name, event_attrs, fired)
        if own_error is not None and not alive and span.parent is not None:
            with self._lock:
                if len(self._child_errors) >= self._max_keys:
                    self._child_errors.clear()
                self._child_errors[(context.trace_id, span.parent.span_id)] = own_error
        return fired

    def _error(
        self, span: ReadableSpan, bot: Any, attrs: Any, fp: str, message: str, fired: list[Alert] | None
    ) -> list[Alert] | None:
        now = self._clock()
        cfg = self.config
        key = (str(bot) if bot is not None else "", fp)
        with self._lock:
            window = self._bounded(self._errors, key, cfg.error_loop_threshold)
            count = window.add(now, cfg.error_loop_window_s)
            self._error_samples[key] = message[:500]
            condition = (ERROR_LOOP, *key)
            if count < cfg.error_loop_threshold:
                self._active.discard(condition)
                return fired
            if condition in self._active:
                return fired
            self._active.add(condition)
        alert = Alert(
            kind=ERROR_LOOP,
            recommendation=RECOMMENDATIONS[ERROR_LOOP],
            message=f"{key[0] or 'a bot'} hit {fp} {count} times in {cfg.error_loop_window_s / 60:g} min",
            key=condition,
            bot=bot if bot is not None else None,
            workspace_id=attrs.get(sc.WORKSPACE_ID),
            trace_id=_hex_trace(span.context.trace_id),
            span_id=_hex_span(span.context.span_id),
            time_ns=time.time_ns(),
            evidence={
                "fingerprint": fp,
                "count": count,
                "window_s": cfg.error_loop_window_s,
                "threshold": cfg.error_loop_threshold,
                "sample_message": message[:500],
            },
        )
        return [*(fired or ()), alert]

    def _decision(
        self, span: ReadableSpan, bot: Any, attrs: Any, name: str, event_attrs: Any, fired: list[Alert] | None
    ) -> list[Alert] | None:
        if name == _EVENT_UNCERTAINTY:
            low = event_attrs.get(sc.WORKLOG_FLAGGED_FROM) == "decision"
            if not low:
                return fired  # a plain uncertainty entry is not a decision
        else:
            low = event_attrs.get(sc.WORKLOG_LOW_CONFIDENCE) is True
        who = str(bot) if bot is not None else ""
        condition = (LOW_CONFIDENCE, who)
        with self._lock:
            if not low:
                self._streaks.pop(who, None)
                self._active.discard(condition)
                return fired
            streak = self._streaks.pop(who, 0) + 1
            self._streaks[who] = streak
            while len(self._streaks) > self._max_keys:
                self._streaks.popitem(last=False)
            if streak < self.config.low_confidence_streak or condition in self._active:
                return fired
            self._active.add(condition)
        alert = Alert(
            kind=LOW_CONFIDENCE,
            recommendation=RECOMMENDATIONS[LOW_CONFIDENCE],
            message=f"{who or 'a bot'} made {streak} low-confidence decisions in a row",
            key=condition,
            bot=bot if bot is not None else None,
            workspace_id=attrs.get(sc.WORKSPACE_ID),
            trace_id=_hex_trace(span.context.trace_id),
            span_id=_hex_span(span.context.span_id),
            time_ns=time.time_ns(),
            evidence={
                "streak": streak,
                "threshold": self.config.low_confidence_streak,
                "last_message": str(event_attrs.get(sc.WORKLOG_MESSAGE, ""))[:500],
                "last_confidence": event_attrs.get(sc.WORKLOG_CONFIDENCE),
            },
        )
        return [*(fired or ()), alert]

    # --- Cost anomalies --------------------------------------------------------------------------
    def _cost(self, span: ReadableSpan, bot: Any, attrs: Any, fired: list[Alert] | None) -> list[Alert] | None:
        input_tokens = attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
        output_tokens = attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        cost = attrs.get(sc.WORKLOG_COST)
        is_root = span.parent is None and sc.WORKSPACE_ID in attrs
        if input_tokens is None and output_tokens is None and cost is None and not is_root:
            return fired
        trace_id = span.context.trace_id
        condition = (COST_ANOMALY, _hex_trace(trace_id))
        cfg = self.config
        with self._lock:
            totals = self._sessions.get(trace_id)
            if totals is None:
                totals = self._sessions[trace_id] = [0.0, 0.0, 0.0]
                while len(self._sessions) > self._max_keys:
                    old, _ = self._sessions.popitem(last=False)
                    self._active.discard((COST_ANOMALY, _hex_trace(old)))
            totals[0] += _number(input_tokens)
            totals[1] += _number(output_tokens)
            totals[2] += _number(cost)
            snapshot = list(totals)
            if is_root:  # the session is over: forget it, and the condition clears with it
                del self._sessions[trace_id]
            over = snapshot[2] > cfg.cost_threshold or snapshot[0] + snapshot[1] > cfg.token_threshold
            if not over or condition in self._active:
                if is_root:
                    self._active.discard(condition)
                return fired
            if not is_root:
                self._active.add(condition)
        alert = Alert(
            kind=COST_ANOMALY,
            recommendation=RECOMMENDATIONS[COST_ANOMALY],
            message=(
                f"session cost {snapshot[2]:.4g} (threshold {cfg.cost_threshold:g}), "
                f"{snapshot[0] + snapshot[1]:.0f} tokens (threshold {cfg.token_threshold})"
            ),
            key=condition,
            bot=bot if bot is not None else None,
            workspace_id=attrs.get(sc.WORKSPACE_ID),
            trace_id=_hex_trace(trace_id),
            span_id=_hex_span(span.context.span_id),
            time_ns=time.time_ns(),
            evidence={
                "cost": round(snapshot[2], 6),
                "input_tokens": int(snapshot[0]),
                "output_tokens": int(snapshot[1]),
                "cost_threshold": cfg.cost_threshold,
                "token_threshold": cfg.token_threshold,
            },
        )
        return [*(fired or ()), alert]

    # --- Helpers ---------------------------------------------------------------------------------
    def _bounded(self, table: OrderedDict[Any, _Window], key: Any, threshold: int) -> _Window:
        window = table.get(key)
        if window is None:
            window = table[key] = _Window(threshold)
            while len(table) > self._max_keys:
                table.popitem(last=False)
        else:
            table.move_to_end(key)
        return window

    def _raise(self, fired: list[Alert]) -> None:
        for alert in fired:
            try:
                alerts.emit_span(self._tracer, alert)
            except Exception:
                _internal_error()
            alerts.notify(alert)

    def open_bot_count(self) -> int:
        """Bot spans currently tracked as open (for tests and the memory bound)."""
        return len(self._open)

    def tracked_keys(self) -> int:
        """Every key held in memory, summed over the detectors (for tests of the memory bound)."""
        return (
            len(self._errors)
            + len(self._tools)
            + len(self._sessions)
            + len(self._streaks)
            + len(self._open)
            + len(self._child_errors)
        )


def _number(value: Any) -> float:
    if value is None or isinstance(value, bool):
        return 0.0
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and number >= 0 else 0.0


def _internal_error() -> None:
    from otel_worklog._internal.errors import log_internal_error

    log_internal_error()
