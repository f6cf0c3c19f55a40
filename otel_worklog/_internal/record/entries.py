"""Work-log entries as span events, and escalations and insights.

An entry is an event on the span that is current when it is logged, so it
shares that span's fate under sampling. Escalations are spans of their own,
which the sampler always keeps.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.record.content import ContentPolicy
from otel_worklog._internal.record.current_span import (
    KNOWN_SPAN_TYPES,
    SPAN_KEY,
    SPAN_KEY_KNOWN,
    current_context,
    slow_current_span,
)
from otel_worklog._internal.record.current_span import current_span as _current_span
from otel_worklog._internal.record.ledger import LEDGER_KEY, EventLedger, add_event
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope, current_scope, next_step
from otel_worklog._internal.record.serialize import clean_text, safe_repr
from otel_worklog._internal.record.state import STATE, RuntimeConfig, active_tracer

logger = logging.getLogger("otel_worklog")

_LEVELS: Final = frozenset(sc.LEVELS)
#: The default of ``mentions``: compared by identity, so the common call skips all list work.
_NO_MENTIONS: Final[tuple[str, ...]] = ()
#: What ``_entry`` reads when no scope is current: no workspace, so steps come from the process-wide count.
_NO_SCOPE: Final = Scope(workspace=None)
# Attribute names bound once: the entry path runs on every log call.
_LEVEL: Final = sc.WORKLOG_LEVEL
_CATEGORY: Final = sc.WORKLOG_CATEGORY
_MESSAGE: Final = sc.WORKLOG_MESSAGE
_STEP: Final = sc.WORKLOG_STEP
_CONFIDENCE: Final = sc.WORKLOG_CONFIDENCE
_get_current: Final = current_context


def _text_of(value: Any) -> str:
    return clean_text(value) if isinstance(value, str) else safe_repr(value)


_SAMPLED_LEVELS: Final = frozenset(sc.SAMPLED_LEVELS)
_EVENT_NAMES: Final = {level: sc.event_name(level) for level in sc.LEVELS}


def _check_confidence(value: Any) -> tuple[float | None, str | None]:
    """(confidence, None) when valid, else (None, a printable form of the bad value)."""
    if value is None:
        return None, None
    if type(value) is float or (isinstance(value, int | float) and not isinstance(value, bool)):
        number = float(value)
        if 0.0 <= number <= 1.0:  # NaN fails both comparisons
            return number, None
    return None, safe_repr(value)


def _string_list(values: Any) -> list[str]:
    """A list of strings from whatever was given; never evaluates the truth of user objects."""
    if values is None:
        return []
    if isinstance(values, str):
        return [clean_text(values)]
    try:
        return [clean_text(v) if isinstance(v, str) else safe_repr(v) for v in values]
    except Exception:  # not iterable, or its iterator fails
        return [safe_repr(values)]


#: Attributes an entry may get after its details: truncated, redacted count, details dropped.
_TRAILING_ATTRIBUTES: Final = 3
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def _is_empty(value: Any) -> bool:
    """None or an empty str/list/dict, without calling a user's ``__eq__`` (it may return anything)."""
    return value is None or (type(value) in (str, list, dict, tuple) and len(value) == 0)


def _add_details(attributes: dict[str, Any], details: object, content: ContentPolicy, limit: int | None) -> int:
    """Flatten ``details`` into ``worklog.details.<key>`` attributes; returns the redaction count.

    The SDK keeps an event's newest ``limit`` attributes and evicts the oldest, which are the
    entry's own (level, message, step). So only as many keys are kept as fit beside them and the
    flags added after; how many were left out is recorded in ``worklog.details_dropped``.
    """
    if not content.capture_content:
        return 0
    if not isinstance(details, Mapping):
        logger.warning("otel_worklog: details must be a mapping, got %s", type(details).__name__)
        return 0
    room = len(details) if limit is None else max(limit - len(attributes) - _TRAILING_ATTRIBUTES, 0)
    redacted = 0
    for key, value in itertools.islice(details.items(), room):
        name, key_redactions, _ = content.key(key)
        redacted += key_redactions
        redacted += _add_detail(attributes, sc.WORKLOG_DETAILS_PREFIX + name, name, value, content)
    if len(details) > room:
        attributes[sc.WORKLOG_DETAILS_DROPPED] = len(details) - room
        _warn_details_dropped(len(details), room)
    return redacted


def _add_detail(attributes: dict[str, Any], attribute: str, name: str, value: Any, content: ContentPolicy) -> int:
    """Add one detail as the attribute type OTLP carries for it; returns how many values were redacted."""
    if content.scrubber.is_sensitive_key(name) and not _is_empty(value):
        attributes[attribute] = "[REDACTED]"
        return 1
    if type(value) is bool or (type(value) is float and math.isfinite(value)):
        attributes[attribute] = value
        return 0
    if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:
        attributes[attribute] = value  # OTLP carries 64-bit integers; larger ones go as text below
        return 0
    cleaned = content.text(value) if isinstance(value, str) else content.json(value)
    attributes[attribute] = cleaned.text
    return cleaned.redacted


_details_warned = False


def _warn_details_dropped(given: int, kept: int) -> None:
    global _details_warned
    if not _details_warned:
        _details_warned = True
        logger.warning(
            "otel_worklog: an entry had %d details keys and kept the first %d, so that its level, message and step "
            "fit the event attribute limit (OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT); worklog.details_dropped counts the "
            "rest on each such entry",
            given,
            kept,
        )


def _note_redactions(span: trace.Span, count: int) -> None:
    """Add ``count`` to the span's running total of redacted values."""
    current = getattr(span, "attributes", None)
    previous = current.get(sc.WORKLOG_REDACTED_COUNT, 0) if isinstance(current, Mapping) else 0
    span.set_attribute(sc.WORKLOG_REDACTED_COUNT, int(previous) + count)


def log(
    level: str,
    message: str,
    *,
    category: str = sc.CATEGORY_GENERAL,
    confidence: float | None = None,
    details: Mapping[str, Any] | None = None,
    mentions: Iterable[str] = _NO_MENTIONS,
    response_to: int | None = None,
) -> int:
    """Record a work-log entry on the current span and return its step number (0 when not recording)."""
    ctx = _get_current()
    span = _current_span(ctx)
    if not span.is_recording():
        return 0
    try:
        extra = None
        if type(level) is not str or level not in _LEVELS:
            logger.warning("otel_worklog: unknown work-log level %s; recorded as info", safe_repr(level))
            extra = {sc.WORKLOG_LEVEL_INVALID: safe_repr(level)}
            level = "info"
        return _entry(
            span,
            ctx,
            level,
            message,
            category=category,
            confidence=confidence,
            details=details,
            mentions=mentions,
            response_to=response_to,
            extra=extra,
        )
    except Exception:
        log_internal_error()
        return 0


def _entry(
    span: trace.Span,
    ctx: otel_context.Context,
    level: str,
    message: Any,
    category: Any = sc.CATEGORY_GENERAL,
    confidence: Any = None,
    details: Mapping[str, Any] | None = None,
    mentions: Iterable[str] | None = _NO_MENTIONS,
    response_to: Any = None,
    *,
    extra: dict[str, Any] | None = None,
    event: str | None = None,
) -> int:
    """Build and add one entry event for a known ``level``; returns its step.

    ``event`` names a special entry (an insight), which is never sampled out. The entry's own
    attributes come first and always fit: details get only the room the event limit leaves.
    """
    scope: Scope = ctx.get(SCOPE_KEY, _NO_SCOPE)  # type: ignore[assignment]  # our own key: only we set it
    workspace = scope.workspace
    step = next(workspace.steps) if workspace is not None else next_step(None)
    config = STATE.config
    # The rate is almost always 1.0, and a float compare is the cheapest test.
    if config.info_sample_rate < 1.0 and _sampled_out(level, event, config.info_sample_rate):
        return step
    content = config.content
    text, redacted, truncated = content.text(message if type(message) is str else _text_of(message))
    if type(category) is not str or not category.isascii():
        category = _text_of(category)
    if (
        type(confidence) is float
        and 0.0 <= confidence <= 1.0
        and (level != "decision" or confidence >= config.confidence_threshold)
    ):
        # The common entry: one dict literal.
        attributes = {_LEVEL: level, _CATEGORY: category, _MESSAGE: text, _STEP: step, _CONFIDENCE: confidence}
    else:
        attributes, level = _checked_core(span, level, category, confidence, text, step, config)
    if mentions is not _NO_MENTIONS or response_to is not None:
        _add_references(attributes, mentions, response_to)
    if extra:
        attributes.update(extra)
    if details is not None:
        redacted += _add_details(attributes, details, content, config.event_attribute_limit)
    if truncated:
        attributes[sc.WORKLOG_TRUNCATED] = True
    if redacted:
        attributes[sc.WORKLOG_REDACTED_COUNT] = redacted
        _note_redactions(span, redacted)
    name = event or _EVENT_NAMES[level]
    # add_event(), inlined: this is the one call every entry makes.
    ledger: EventLedger | None = ctx.get(LEDGER_KEY)  # type: ignore[assignment]  # our own key: only we set it
    if ledger is not None and ledger.span is span:
        ledger.add(ctx, name, attributes)
    else:
        span.add_event(name, attributes)
    return step


def _sampled_out(level: str, event: str | None, rate: float) -> bool:
    return event is None and level in _SAMPLED_LEVELS and random.random() >= rate


def _checked_core(
    span: trace.Span, level: str, category: str, confidence: Any, text: str, step: int, config: RuntimeConfig
) -> tuple[dict[str, Any], str]:
    """The entry's own attributes when its confidence is missing, invalid or low; and its level, which a
    low-confidence decision changes to uncertainty."""
    attributes: dict[str, Any] = {_LEVEL: level, _CATEGORY: category, _MESSAGE: text, _STEP: step}
    if confidence is not None:
        level = _add_confidence(span, attributes, level, confidence, step, config.confidence_threshold)
    return attributes, level


def _add_references(attributes: dict[str, Any], mentions: Iterable[str] | None, response_to: Any) -> None:
    """``worklog.mentions`` and ``worklog.response_to``, when given."""
    if mentions is not _NO_MENTIONS and mentions is not None:
        mention_list = _string_list(mentions)
        if mention_list:
            attributes[sc.WORKLOG_MENTIONS] = mention_list
    if response_to is not None:
        if type(response_to) is int and _INT64_MIN <= response_to <= _INT64_MAX:
            attributes[sc.WORKLOG_RESPONSE_TO] = response_to
        else:
            logger.warning("otel_worklog: response_to must be a step number, got %s", safe_repr(response_to))


def _add_confidence(
    span: trace.Span, attributes: dict[str, Any], level: str, confidence: Any, step: int, threshold: float
) -> str:
    """Add a confidence outside the common case; returns the level, which a low-confidence decision changes."""
    value, invalid = _check_confidence(confidence)
    if invalid is not None or value is None:
        logger.warning(
            "otel_worklog: confidence must be a number from 0 to 1, got %s; entry %d kept without it",
            invalid,
            step,
        )
        attributes[sc.WORKLOG_CONFIDENCE_INVALID] = invalid
        return level
    attributes[_CONFIDENCE] = value
    if level == "decision" and value < threshold:
        level = "uncertainty"
        attributes[_LEVEL] = level
        attributes[sc.WORKLOG_FLAGGED_FROM] = "decision"
        attributes[sc.WORKLOG_LOW_CONFIDENCE] = True
        span.set_attribute(sc.WORKLOG_LOW_CONFIDENCE, True)
    return level


def _shortcut(level: str) -> Any:
    def entry(
        message: str,
        *,
        category: str = sc.CATEGORY_GENERAL,
        confidence: float | None = None,
        details: Mapping[str, Any] | None = None,
        mentions: Iterable[str] = _NO_MENTIONS,
        response_to: int | None = None,
    ) -> int:
        ctx = _get_current()
        # current_span(ctx), inlined: every shortcut call makes this lookup.
        span: trace.Span = ctx.get(SPAN_KEY)  # type: ignore[assignment]  # its type is checked next
        if type(span) not in KNOWN_SPAN_TYPES:
            if span is None and SPAN_KEY_KNOWN:  # no span at all: an app that never called configure()
                return 0
            span = slow_current_span(ctx)
        if not span.is_recording():
            return 0
        try:
            return _entry(span, ctx, level, message, category, confidence, details, mentions, response_to)
        except Exception:
            log_internal_error()
            return 0

    entry.__name__ = entry.__qualname__ = level
    entry.__doc__ = f"Record a ``{level}`` entry on the current span; returns its step number."
    return entry


info = _shortcut("info")
thinking = _shortcut("thinking")
decision = _shortcut("decision")
correction = _shortcut("correction")
uncertainty = _shortcut("uncertainty")
warning = _shortcut("warning")
error = _shortcut("error")


def message(text: str, *, mentions: Iterable[str] = (), response_to: int | None = None) -> int:
    """A bot-to-bot conversation entry (category ``bot_conversation``); returns its step number."""
    return log("info", text, category=sc.CATEGORY_BOT_CONVERSATION, mentions=mentions, response_to=response_to)


def insight(
    text: str,
    *,
    category: str,
    confidence: float,
    scope: str = "general",
    applies_to: Iterable[str] = (),
) -> int:
    """Record a learning. Shareable (Learning Exchange) when confidence >= 0.85 and the category is shareable."""
    ctx = otel_context.get_current()
    span = trace.get_current_span(ctx)
    if not span.is_recording():
        return 0
    try:
        value, _ = _check_confidence(confidence)
        if type(scope) is not str or scope not in sc.INSIGHT_SCOPES:
            logger.warning("otel_worklog: insight scope must be one of %s; using general", sc.INSIGHT_SCOPES)
            scope = "general"
        shareable = (
            value is not None
            and value >= sc.INSIGHT_SHAREABLE_CONFIDENCE
            and type(category) is str
            and category in sc.INSIGHT_CATEGORIES
        )
        step = _entry(
            span,
            ctx,
            "info",
            text,
            category=category,
            confidence=confidence,
            extra={
                sc.WORKLOG_INSIGHT_CATEGORY: clean_text(category) if isinstance(category, str) else safe_repr(category),
                sc.WORKLOG_INSIGHT_SCOPE: scope,
                sc.WORKLOG_INSIGHT_SHAREABLE: shareable,
                sc.WORKLOG_INSIGHT_APPLIES_TO: _string_list(applies_to),
            },
            event=sc.EVENT_INSIGHT,
        )
        return step
    except Exception:
        log_internal_error()
        return 0


@dataclass(frozen=True, slots=True)
class Escalation:
    """What :func:`escalate` returns; ``resolve()`` records how the escalation ended."""

    reason: str
    trace_id: str
    span_id: str
    step: int

    def resolve(self, resolution: str) -> None:
        ctx = _get_current()
        span = _current_span(ctx)
        if not span.is_recording() or not self.span_id:
            return
        try:
            cleaned = STATE.config.content.text(resolution if isinstance(resolution, str) else safe_repr(resolution))
            add_event(
                span,
                ctx,
                sc.EVENT_ESCALATION_RESOLVED,
                {sc.WORKLOG_ESCALATION_SPAN_ID: self.span_id, sc.WORKLOG_ESCALATION_RESOLUTION: cleaned.text},
            )
        except Exception:
            log_internal_error()


_NO_ESCALATION: Final = Escalation("", "", "", 0)


def escalate(
    reason: str,
    *,
    details: Mapping[str, Any] | None = None,
    target: str = "user",
    tracer_provider: trace.TracerProvider | None = None,
) -> Escalation:
    """Record an escalation to a human as its own ``escalation`` span, kept even when sampled out."""
    tracer = active_tracer(tracer_provider)
    if tracer is None:
        return _NO_ESCALATION
    try:
        ctx = otel_context.get_current()
        scope = current_scope(ctx)
        content = STATE.config.content
        reason_text = content.text(reason if isinstance(reason, str) else safe_repr(reason)).text
        attributes: dict[str, Any] = {
            sc.WORKLOG_ESCALATION: True,
            sc.WORKLOG_ESCALATION_REASON: reason_text,
            sc.WORKLOG_ESCALATION_TARGET: clean_text(target) if isinstance(target, str) else safe_repr(target),
        }
        if scope is not None:
            attributes.update(scope.stamp)
        span = tracer.start_span(sc.ESCALATION_SPAN_NAME, context=ctx, attributes=attributes)
        span_ctx = trace.set_span_in_context(span, ctx)
        step = _entry(
            span,
            span_ctx,
            "coordination",
            f"Escalation: {reason_text}",
            category=sc.CATEGORY_ESCALATION,
            details=details,
        )
        span.end()
        ids = span.get_span_context()
        return Escalation(reason_text, trace.format_trace_id(ids.trace_id), trace.format_span_id(ids.span_id), step)
    except Exception:
        log_internal_error()
        return _NO_ESCALATION
