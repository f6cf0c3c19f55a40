"""Failed steps and resolved escalations, read the same way by the store and Tempo readers.

``how timeout`` should find the tool that raised ``TimeoutError`` as well as the entries that
mention a timeout: a failed span is a search hit whose text is its error (the exception's type
and message, else the span's status message). An exception bubbling up is recorded again by each
enclosing span; it is one failure, shown on the innermost span.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Final

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.matching import matches
from otel_worklog._internal.query.records import EntryHit, EventRecord, SpanRecord

__all__ = ["EXCEPTION_EVENT", "error_text", "failure_hit", "matching_failures", "note_resolution"]

#: The event OpenTelemetry's ``record_exception`` writes.
EXCEPTION_EVENT: Final = "exception"
#: The name of the event a failed step without an exception event is shown as.
_FAILED_EVENT: Final = "error"


def error_text(span: SpanRecord) -> str:
    """What went wrong in ``span``: ``TimeoutError: write to ... timed out``."""
    exception = next((e for e in span.events if e.name == EXCEPTION_EVENT), None)
    attrs = exception.attributes if exception is not None else {}
    kind = str(attrs.get("exception.type") or span.attributes.get(sc.ERROR_TYPE) or "")
    message = str(attrs.get("exception.message") or span.status_message or "")
    if kind and message and not message.startswith(kind):
        return f"{kind}: {message}"
    return message or kind or "failed"


def failure_hit(span: SpanRecord) -> EntryHit:
    """A failed span as a search hit, at the time its exception was recorded (else its end)."""
    exception = next((e for e in span.events if e.name == EXCEPTION_EVENT), None)
    event = exception if exception is not None else EventRecord(_FAILED_EVENT, span.end_ns, {})
    return EntryHit(span.trace_id, span.span_id, span.name, span.workspace_id, span.bot_name, event, error_text(span))


def matching_failures(spans: Iterable[SpanRecord], text: str) -> list[EntryHit]:
    """The failed spans whose error matches ``text``, each error of a trace once (on its innermost span)."""
    innermost: dict[tuple[str, str], tuple[int, EntryHit]] = {}
    for span in spans:
        if not span.is_error:
            continue
        hit = failure_hit(span)
        assert hit.error is not None
        if not matches(hit.error, text):
            continue
        key = (span.trace_id, hit.error)
        known = innermost.get(key)
        if known is None or span.start_ns > known[0]:
            innermost[key] = (span.start_ns, hit)
    return sorted((hit for _, hit in innermost.values()), key=lambda hit: hit.event.time_ns, reverse=True)


def note_resolution(attributes: Mapping[str, Any], found: MutableMapping[str, str]) -> None:
    """Note the resolution an ``escalation_resolved`` event carries, by the escalation's span id."""
    target = attributes.get(sc.WORKLOG_ESCALATION_SPAN_ID)
    if isinstance(target, str):
        resolution = attributes.get(sc.WORKLOG_ESCALATION_RESOLUTION)
        found[target.lower()] = str(resolution) if resolution is not None else ""
