"""The live detector span processor: the work analyzer, on spans as they end.

It keeps only small bounded state in memory (time windows per bot and fingerprint or tool,
running totals per session, a streak counter per bot, the bot spans still open) and never
touches disk or network. Finished spans are examined in batches; a worker thread examines what a
quiet app leaves waiting and looks for bot spans with no new activity. The clock is injectable,
so tests never wait in real time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.semconv.attributes.exception_attributes import EXCEPTION_MESSAGE, EXCEPTION_TYPE
from opentelemetry.trace import SpanContext

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.forks import watch_forks
from otel_worklog._internal.pipeline.bounded import run_until
from otel_worklog._internal.pipeline.detectors import alerts
from otel_worklog._internal.pipeline.detectors.alerts import RECOMMENDATIONS, Alert
from otel_worklog._internal.pipeline.detectors.config import (
    COST_ANOMALY,
    ERROR_LOOP,
    LOW_CONFIDENCE,
    STUCK_AGENT,
    TOOL_LOOP,
    DetectorConfig,
)
from otel_worklog._internal.pipeline.detectors.fingerprint import fingerprint
from otel_worklog._internal.sdk_compat import (
    attributes_of,
    ended_spans,
    event_parts,
    name_of,
    parent_context,
    span_context,
)
from otel_worklog._internal.settings import SHUTDOWN_TIMEOUT_S, resolve
from otel_worklog._internal.span_kinds import (
    ALERT,
    BOT,
    TOOL,
    classify,
    counts_usage,
    declared_kind,
    is_failure,
    tool_name,
)

logger = logging.getLogger("otel_worklog")

_EVENT_EXCEPTION: Final = "exception"
_EVENT_ERROR: Final = sc.event_name("error")
_EVENT_DECISION: Final = sc.event_name("decision")
_EVENT_UNCERTAINTY: Final = sc.event_name("uncertainty")
_INTERESTING_EVENTS: Final = frozenset({_EVENT_EXCEPTION, _EVENT_ERROR, _EVENT_DECISION, _EVENT_UNCERTAINTY})
_BUBBLE_NS: Final = 1_000_000_000
# Module-level copies of the names read on every span (a global is cheaper than a module attribute).
_BOT: Final = sc.BOT_NAME
_WORKSPACE: Final = sc.WORKSPACE_ID
_TOOL: Final = sc.GEN_AI_TOOL_NAME
_COST: Final = sc.WORKLOG_COST
_TOKENS_IN: Final = sc.GEN_AI_USAGE_INPUT_TOKENS
_TOKENS_OUT: Final = sc.GEN_AI_USAGE_OUTPUT_TOKENS
_LOW_CONFIDENCE: Final = sc.WORKLOG_LOW_CONFIDENCE


def _hex_trace(trace_id: int) -> str:
    return format(trace_id, "032x")


def _hex_span(span_id: int) -> str:
    return format(span_id, "016x")


@dataclass(slots=True)
class _OpenBot:
    span: ReadableSpan
    bot: str
    workspace_id: str | None
    trace_id: int
    span_id: int
    last_activity: float
    events_seen: int = 0
    stuck: bool = False


class _Window:
    """Timestamps of one key within a sliding window (bounded by the threshold it serves)."""

    __slots__ = ("alerted", "times")

    def __init__(self, maxlen: int) -> None:
        self.times: deque[float] = deque(maxlen=maxlen)
        self.alerted = False

    def add(self, now: float, window_s: float) -> int:
        self.times.append(now)
        return self.prune(now, window_s)

    def prune(self, now: float, window_s: float) -> int:
        times = self.times
        edge = now - window_s
        while times and times[0] <= edge:
            times.popleft()
        return len(times)


#: Finished spans examined together, on the thread that ends the last of them.
BATCH_SIZE: Final = 64
#: Longest a finished span waits when fewer than a batch arrive (the worker thread examines them).
DRAIN_INTERVAL_S: Final = 0.5
#: Finished spans waiting past which the oldest are dropped (when another thread is busy examining).
MAX_PENDING: Final = 65_536


class _Windows(dict[Any, _Window]):
    """Windows by key, each made on first lookup (``table[key]``); past ``bound`` keys the oldest is forgotten."""

    __slots__ = ("bound", "threshold")

    def __init__(self, threshold: int, bound: int) -> None:
        super().__init__()
        self.threshold = threshold
        self.bound = bound

    def __missing__(self, key: Any) -> _Window:
        window = self[key] = _Window(self.threshold)
        while len(self) > self.bound:
            del self[next(iter(self))]
        return window


class DetectorProcessor(SpanProcessor):
    """Error loops, tool loops, stuck agents, cost anomalies and low-confidence streaks, live.

    Finished spans are examined a batch at a time: one at a time, every span would pay for a call, a
    clock read and the setup of a pass, interleaved with the SDK's own work; a worker thread that
    examined them all would hold spans longer and take the GIL in the middle of the app's work. A batch is
    examined by the thread whose span completes it; the worker thread examines what a quiet app
    leaves in a partial batch every ``DRAIN_INTERVAL_S``, and runs the stuck-agent pass.
    ``watchdog=False`` (tests with a fake clock) examines each span as it ends and leaves
    :meth:`tick` to the caller.
    """

    #: Only an agent starting matters (to the stuck-agent detector): the fan-out hands this processor the
    #: spans that may be one (processors.WorklogSpanProcessor), and it classifies those.
    starts_only_agents: ClassVar[bool] = True

    def __init__(
        self,
        config: DetectorConfig,
        tracer_provider: TracerProvider | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        watchdog: bool = True,
        batch_size: int = BATCH_SIZE,
        drain_interval_s: float = DRAIN_INTERVAL_S,
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
        self._max_keys = config.detector_max_keys
        self._tool_threshold = config.tool_loop_threshold
        self._tool_window_s = config.tool_loop_window_s
        self._errors = _Windows(config.error_loop_threshold, config.detector_max_keys)
        self._recent_exceptions: OrderedDict[tuple[int, str], tuple[int, int]] = OrderedDict()
        self._tools = _Windows(config.tool_loop_threshold, config.detector_max_keys)
        self._sessions: OrderedDict[int, list[float]] = OrderedDict()
        self._streaks: dict[Any, int] = {}
        self._open: dict[int, _OpenBot] = {}
        self._open_by_bot: dict[tuple[int, str], _OpenBot] = {}
        self._active: set[tuple[str, ...]] = set()
        self._pending: deque[ReadableSpan] = deque()
        self._batch_size = max(1, batch_size) if watchdog else 1
        self._drain_interval_s = drain_interval_s
        self._dropped = 0
        self._watchdog = watchdog
        self._stopped = False
        self._start_watchdog()
        watch_forks(self, DetectorProcessor._start_afresh_in_child)

    # --- The watchdog thread: start, stop, fork --------------------------------------------------
    def _start_watchdog(self) -> None:
        self._drain_lock = threading.RLock()  # an on_alert callback may flush from inside a drain
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self._watchdog and not self._stopped:
            self._thread = threading.Thread(target=self._watch, name="otel-worklog-watchdog", daemon=True)
            self._thread.start()

    def _start_afresh_in_child(self) -> None:
        """In a forked child: new locks and a watchdog of its own (the parent's does not exist here).

        The parent's waiting spans and open bots stay the parent's: the child never ends those bot
        spans, so watching them would report them stuck.
        """
        self._lock = threading.Lock()
        self._pending = deque()
        with self._lock:
            self._open.clear()
            self._open_by_bot.clear()
        self._start_watchdog()

    # --- SpanProcessor ---------------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        # Only a bot span that starts matters (to the stuck-agent detector), whoever recorded it, and only
        # one that names its bot. Called directly (tests, other providers), it is handed every span: one whose
        # GenAI operation declares another kind (a tool call, a model call: most spans) is not classified.
        try:
            if self._stuck_on:
                attrs = attributes_of(span)
                declared = declared_kind(attrs)
                if declared is None or declared is BOT:
                    bot = attrs.get(_BOT)
                    if bot is not None and classify(name_of(span), attrs) is BOT:
                        self._bot_started(span, bot, attrs)
        except Exception:
            _internal_error()

    def on_end(self, span: ReadableSpan) -> None:
        pending = self._pending
        pending.append(span)  # atomic: no lock until a batch is complete
        if len(pending) >= self._batch_size:
            self._batch_complete(pending)

    def _batch_complete(self, pending: deque[ReadableSpan]) -> None:
        if self._drain_lock.acquire(blocking=False):  # never wait for another thread's batch
            try:
                self._examine_pending()
            except Exception:  # e.g. an injected clock that raises: the app's span still ends
                _internal_error()
            finally:
                self._drain_lock.release()
        elif len(pending) > MAX_PENDING:
            try:
                pending.popleft()
                self._dropped += 1
            except IndexError:  # examined meanwhile
                pass

    def drain(self) -> int:
        """Examine every finished span waiting, in the order they ended; returns how many."""
        with self._drain_lock:
            return self._examine_pending()

    def _examine_pending(self) -> int:
        """:meth:`drain`, with the drain lock already held."""
        batch = _take(self._pending)
        if batch:
            self.examine_ended(batch)
        return len(batch)

    @property
    def dropped(self) -> int:
        """Finished spans never examined because more than :data:`MAX_PENDING` were waiting."""
        return self._dropped

    def pending(self) -> int:
        """Finished spans waiting to be examined."""
        return len(self._pending)

    # --- The pass over finished spans ---------------------------------------------------------------
    def _bot_started(self, span: Span, bot: Any, attrs: Any) -> None:
        """Note a bot span as open: the stuck-agent detector watches it until it ends."""
        context = span_context(span)
        record = _OpenBot(span, bot, attrs.get(_WORKSPACE), context.trace_id, context.span_id, self._clock())
        with self._lock:
            if len(self._open) < self._max_keys:
                self._open[record.span_id] = record
                self._open_by_bot[(record.trace_id, bot)] = record

    def examine_ended(self, spans: Iterable[ReadableSpan]) -> None:
        """Every detector's look at ``spans``, in the order they ended; the clock is read once for all.

        The loop is written out flat, with what it reads hoisted out of it: every span pays for it. What
        fires seldom (an alert, an entry, a usage count) is handed to a method.
        """
        open_bots = self._open
        cost_on = self._cost_on
        tools = self._tools
        counted = TOOL if self._tool_on else None  # the kind tool loops count (classify never gives None)
        threshold = self._tool_threshold
        now = self._clock()
        edge = now - self._tool_window_s
        active: set[Any] = set()  # (trace id, bot) of every span seen: activity of that bot
        for span, name, attrs, context, parent, events in ended_spans(spans):
            try:
                kind = classify(name, attrs)
                if kind is ALERT:
                    continue
                bot = attrs.get(_BOT)
                record = None
                if open_bots:  # stuck agents: the end of any span of an open bot is activity
                    # SpanContext is a tuple (trace_id, span_id, ...): indexing skips two property calls.
                    record = open_bots.pop(context[1], None)  # atomic under the GIL: no lock here
                    if record is not None:
                        self._closed(record)
                    else:  # the bots are looked up once per batch, in _note_activity
                        active.add((context[0], bot) if bot is not None else _parent_bot(parent, open_bots))
                if kind is counted:  # tool loops
                    tool = attrs.get(_TOOL)  # the common case, without a call
                    key = (bot, tool if type(tool) is str and tool else tool_name(name, attrs))
                    window = tools[key]
                    times = window.times
                    times.append(now)  # at most `threshold` kept: the loop holds when the oldest is in the window
                    holds = len(times) >= threshold and times[0] > edge
                    if holds is not window.alerted:  # the loop began or ended: rare
                        self._tool_loop_turned(window, holds, span, key, attrs)
                usage = cost_on and (_COST in attrs or _TOKENS_IN in attrs or _TOKENS_OUT in attrs or parent is None)
                if events or usage:
                    self._entries_and_usage(span, bot, attrs, events, record, usage)
            except Exception:
                _internal_error()
        if active:
            self._note_activity(active, now)

    def _tool_loop_turned(
        self, window: _Window, holds: bool, span: ReadableSpan, key: tuple[Any, Any], attrs: Any
    ) -> None:
        """A tool loop's condition began to hold (raise its alert) or cleared (the next time it holds, raise again)."""
        window.alerted = holds
        if holds:
            self._raise([self._tool_alert(span, key, attrs, len(window.times))])

    def _entries_and_usage(
        self, span: ReadableSpan, bot: Any, attrs: Any, events: Sequence[Any], record: _OpenBot | None, usage: bool
    ) -> None:
        """The detectors that read entries and exceptions, and the cost detector, on one span; then their alerts.

        Of an open bot's span, the events the watchdog examined already are skipped.
        """
        if events and self._events_on:
            fired = self._scan(span, bot, attrs, events if record is None else _unseen(events, record), None)
        else:
            fired = None
        if usage:
            fired = self._cost(span, bot, attrs, fired)
        if fired:
            self._raise(fired)

    def _note_activity(self, active: set[tuple[int, Any]], now: float) -> None:
        open_by_bot = self._open_by_bot
        for key in active:
            owner = open_by_bot.get(key)
            if owner is not None:
                owner.last_activity = now
                if owner.stuck:
                    self._unstick(owner)

    def shutdown(self) -> None:
        self.shutdown_by(time.monotonic() + resolve(SHUTDOWN_TIMEOUT_S))

    def shutdown_by(self, deadline: float) -> None:
        """Stop the watchdog and examine the last spans (their alerts still go out), all by ``deadline``.

        An ``on_alert`` callback that takes longer (it runs inside the watchdog's pass or the last one)
        is left running: shutdown keeps its deadline.
        """
        self._stopped = True
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._thread = None
        # On a thread of its own: the alerts of the last pass call the on_alert callbacks.
        run_until(self.drain, deadline, "detectors-last-pass")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Examine every finished span now, so their alerts are raised (and exported) before returning.

        False when another thread's pass (a slow ``on_alert`` callback) held it past the timeout.
        """
        if not self._drain_lock.acquire(timeout=max(0.0, timeout_millis / 1000)):
            return False
        try:
            self._examine_pending()
        finally:
            self._drain_lock.release()
        return True

    # --- Stuck agents ----------------------------------------------------------------------------
    def _unstick(self, record: _OpenBot) -> None:
        record.stuck = False
        self._active.discard((STUCK_AGENT, _hex_span(record.span_id)))

    def _closed(self, record: _OpenBot) -> None:
        key = (record.trace_id, record.bot)
        if self._open_by_bot.get(key) is record:
            self._open_by_bot.pop(key, None)
        if record.stuck:
            self._unstick(record)

    def tick(self) -> list[Alert]:
        """One watchdog pass: new entries on open bot spans, stale windows, stuck bots. Returns the alerts."""
        with self._drain_lock:
            return self._tick()

    def _tick(self) -> list[Alert]:
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
                if record.stuck:
                    self._unstick(record)
                if self._events_on:
                    found = self._scan(record.span, record.bot, attributes_of(record.span), new, fired)
                    fired = found if found is not None else fired
            idle = now - record.last_activity
            key = (STUCK_AGENT, _hex_span(record.span_id))
            if idle > self.config.stuck_agent_threshold_s and not record.stuck:
                record.stuck = True
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
        tick_every = min(self.config.stuck_agent_interval_s, self.config.stuck_agent_threshold_s / 2)
        last_tick: float | None = None
        while not self._stop.wait(min(self._drain_interval_s, tick_every)):
            try:
                self.drain()
                now = self._clock()
                if last_tick is None:
                    last_tick = now
                elif now - last_tick >= tick_every:
                    last_tick = now
                    self.tick()
            except Exception:
                logger.warning("otel_worklog: detector watchdog pass failed", exc_info=True)

    def _prune_windows(self, now: float) -> None:
        """Clear conditions whose window has emptied below the threshold, and forget empty windows."""
        with self._lock:
            for table, window_s, threshold in (
                (self._errors, self.config.error_loop_window_s, self.config.error_loop_threshold),
                (self._tools, self.config.tool_loop_window_s, self.config.tool_loop_threshold),
            ):
                for key in list(table):
                    window = table[key]
                    count = window.prune(now, window_s)
                    if count < threshold:
                        window.alerted = False
                    if count == 0:
                        del table[key]

    # --- Tool loops ------------------------------------------------------------------------------
    def _tool_alert(self, span: ReadableSpan, key: tuple[Any, Any], attrs: Any, count: int) -> Alert:
        cfg = self.config
        bot = key[0] if key[0] is None or isinstance(key[0], str) else str(key[0])
        tool = str(key[1])
        condition = (TOOL_LOOP, bot or "", tool)
        alert = Alert(
            kind=TOOL_LOOP,
            recommendation=RECOMMENDATIONS[TOOL_LOOP],
            message=f"{bot or 'a bot'} called {tool} {count} times in {cfg.tool_loop_window_s:g}s",
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
        return alert

    # --- Errors and low-confidence decisions --------------------------------------------------------
    def _scan(
        self,
        span: ReadableSpan,
        bot: Any,
        attrs: Any,
        events: Iterable[Any],
        fired: list[Alert] | None,
    ) -> list[Alert] | None:
        own_error: str | None = None
        for event in events:
            name, event_attrs = event_parts(event)
            if name not in _INTERESTING_EVENTS:
                continue
            if name == _EVENT_DECISION:  # the common case: a confident decision ends a streak
                if self._streak_on:
                    if event_attrs.get(_LOW_CONFIDENCE) is True:
                        fired = self._decision(span, bot, attrs, True, event_attrs, fired)
                    elif self._streaks and bot in self._streaks:
                        fired = self._decision(span, bot, attrs, False, event_attrs, fired)
                continue
            if name in (_EVENT_EXCEPTION, _EVENT_ERROR):
                if not self._error_on:
                    continue
                error = _error_of(name, event_attrs, attrs)
                if error is None:
                    continue  # a copy's exception (counted on the original), or framework control flow
                error_type, message = error
                fp = fingerprint(error_type, message)
                if name == _EVENT_EXCEPTION:
                    if own_error == fp:
                        continue
                    own_error = fp
                    if self._bubbled(span.context.trace_id, fp, span.start_time or 0, event.timestamp):
                        continue  # the same exception bubbling up from an inner span: counted once
                fired = self._error(span, bot, attrs, fp, message, fired)
            elif self._streak_on and event_attrs.get(sc.WORKLOG_FLAGGED_FROM) == "decision":
                fired = self._decision(span, bot, attrs, True, event_attrs, fired)  # a low-confidence decision
        return fired

    def _bubbled(self, trace_id: int, fp: str, start_ns: int, time_ns: int) -> bool:
        """True when the last ``fp`` of this trace came from a span inside this one, under a second ago.

        An exception that escapes nested spans is recorded by each of them as it passes; spans end
        inner first, so the inner copy is counted and each enclosing copy is recognised here.
        """
        key = (trace_id, fp)
        with self._lock:
            previous = self._recent_exceptions.pop(key, None)
            self._recent_exceptions[key] = (start_ns, time_ns)
            while len(self._recent_exceptions) > self._max_keys:
                self._recent_exceptions.popitem(last=False)
        return previous is not None and previous[0] >= start_ns and 0 <= time_ns - previous[1] <= _BUBBLE_NS

    def _error(
        self, span: ReadableSpan, bot: Any, attrs: Any, fp: str, message: str, fired: list[Alert] | None
    ) -> list[Alert] | None:
        now = self._clock()
        cfg = self.config
        key = (str(bot) if bot is not None else "", fp)
        with self._lock:
            window = self._errors[key]
            count = window.add(now, cfg.error_loop_window_s)
            condition = (ERROR_LOOP, *key)
            if count < cfg.error_loop_threshold:
                window.alerted = False  # the condition has cleared
                return fired
            if window.alerted:
                return fired
            window.alerted = True
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
        self, span: ReadableSpan, bot: Any, attrs: Any, low: bool, event_attrs: Any, fired: list[Alert] | None
    ) -> list[Alert] | None:
        who = bot if isinstance(bot, str) else "" if bot is None else str(bot)
        condition = (LOW_CONFIDENCE, who)
        with self._lock:
            if not low:
                self._streaks.pop(bot, None)
                self._active.discard(condition)
                return fired
            streak = self._streaks.pop(bot, 0) + 1
            self._streaks[bot] = streak
            while len(self._streaks) > self._max_keys:
                del self._streaks[next(iter(self._streaks))]
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
        if counts_usage(attrs):
            input_tokens = attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
            output_tokens = attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
            cost = attrs.get(sc.WORKLOG_COST)
        else:  # a copy: its usage is counted on the span it copies
            input_tokens = output_tokens = cost = None
        is_root = sc.WORKSPACE_ID in attrs and parent_context(span) is None
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
            + len(self._recent_exceptions)
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
    log_internal_error()


def _parent_bot(parent: SpanContext | None, open_bots: dict[int, _OpenBot]) -> tuple[int, str] | None:
    """(trace id, bot) of the open bot span that is ``parent``, for a span not stamped with a bot."""
    owner = open_bots.get(parent[1]) if parent is not None else None
    return (owner.trace_id, owner.bot) if owner is not None else None


def _error_of(name: str, event_attrs: Any, attrs: Any) -> tuple[str, str] | None:
    """(error type, message) of an ``exception`` event or an ``error`` entry; None when it is no failure."""
    if name != _EVENT_EXCEPTION:
        return _EVENT_ERROR, str(event_attrs.get(sc.WORKLOG_MESSAGE, ""))
    raised_type = event_attrs.get(EXCEPTION_TYPE)
    if not is_failure(True, attrs, raised_type if isinstance(raised_type, str) else None):
        return None
    return str(raised_type or attrs.get(sc.ERROR_TYPE, "")), str(event_attrs.get(EXCEPTION_MESSAGE, ""))


def _unseen(events: Sequence[Any], record: _OpenBot) -> Sequence[Any]:
    """The events of an open bot's ended span the watchdog has not examined yet."""
    seen = record.events_seen
    return list(events)[seen:] if seen else events


def _take(queue: deque[ReadableSpan]) -> list[ReadableSpan]:
    """Everything in ``queue`` now, popped in order (what other threads append meanwhile stays)."""
    taken: list[ReadableSpan] = []
    append, popleft = taken.append, queue.popleft
    try:
        for _ in range(len(queue)):
            append(popleft())
    except IndexError:  # a callback drained it from inside this drain, or the backlog dropped one
        pass
    return taken
