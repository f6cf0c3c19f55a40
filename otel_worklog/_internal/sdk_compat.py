"""Every read of the OpenTelemetry SDK's private fields, each with a public-API fallback.

The public properties copy: ``span.attributes`` wraps a proxy around the attributes, ``span.events``
and ``span.links`` build a tuple, ``event.attributes`` may be a ``BoundedAttributes`` whose every
read takes a lock-free but pure-Python path. The detectors, the insight processor and the store's
exporter read every span that ends, so they read the storage underneath instead: the
``BoundedAttributes._dict`` dict, the ``BoundedList._dq`` deque, ``span._context`` and the like.

Those are private to the SDK and may change in any release. Each read here checks what it found
(the attribute exists and has the type it had in every tested release) and otherwise takes the
public API, so a newer SDK costs speed, never correctness. The tested range is stated in
``pyproject.toml`` and CI runs the tests on its oldest and newest releases.

Only for spans that have ended (or, for attributes, that are starting): an ended span never changes
again, so handing out its own containers without a copy is safe. The results are read-only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry.trace import SpanContext

__all__ = [
    "SUPPRESS_INSTRUMENTATION_KEY",
    "attributes_of",
    "ended_span",
    "ended_spans",
    "event_parts",
    "exported_span",
    "has_events",
    "name_of",
    "parent_context",
    "span_context",
    "span_events",
    "span_links",
    "started_span",
    "suppressed_context",
]

#: The context key under which instrumentations (HTTP and gRPC clients, the SDK's own exporters) record
#: nothing; None when the API no longer has it, and then exports run unsuppressed.
SUPPRESS_INSTRUMENTATION_KEY: Final[str | None] = (
    key if isinstance(key := getattr(otel_context, "_SUPPRESS_INSTRUMENTATION_KEY", None), str) else None
)
_SEQUENCES: Final = (tuple, list)


def suppressed_context() -> otel_context.Context:
    """The current context with instrumentation suppressed, for an export (the current one if it cannot be)."""
    if SUPPRESS_INSTRUMENTATION_KEY is None:
        return otel_context.get_current()
    return otel_context.set_value(SUPPRESS_INSTRUMENTATION_KEY, True)


#: Span classes whose private fields were found to have the expected types: read without checking again.
_TRUSTED_SPAN_TYPES: Final[set[type]] = set()


def ended_span(span: Any) -> tuple[str, dict[str, Any], SpanContext, SpanContext | None, Sequence[Any]]:
    """(name, attributes, context, parent, events) of an ended span in one call, for a pass over every span.

    The same as :func:`name_of`, :func:`attributes_of`, :func:`span_context`, :func:`parent_context`
    and :func:`span_events`, each of which it falls back to when one private field is not what it expects.
    The types are checked on the first span of each class; later spans of a class that passed are read
    directly (a field that is missing still falls back).
    """
    try:
        fields = span._name, span._attributes._dict, span._context, span._parent, span._events._dq
    except AttributeError:
        pass
    else:
        if type(span) in _TRUSTED_SPAN_TYPES or _trust(span, fields, _ENDED_FIELD_TYPES, _TRUSTED_SPAN_TYPES):
            return fields
    return name_of(span), attributes_of(span), span_context(span), parent_context(span), span_events(span)


def ended_spans(spans: Iterable[Any]) -> list[tuple[Any, str, dict[str, Any], SpanContext, SpanContext | None, Any]]:
    """(span, name, attributes, context, parent, events) of each ended span: :func:`ended_span` for a batch.

    One call for the batch, not one per span: a span of a trusted class is read inline.
    """
    trusted = _TRUSTED_SPAN_TYPES
    parts: list[tuple[Any, str, dict[str, Any], SpanContext, SpanContext | None, Any]] = []
    append = parts.append
    for span in spans:
        if type(span) in trusted:
            try:
                append((span, span._name, span._attributes._dict, span._context, span._parent, span._events._dq))
                continue
            except AttributeError:
                pass
        append((span, *ended_span(span)))
    return parts


_NONE: Final = type(None)
#: The types every tested release gives the fields :func:`ended_span` and :func:`exported_span` read.
_ENDED_FIELD_TYPES: Final = ((str,), (dict,), (SpanContext,), (SpanContext, _NONE), (deque,))
_EXPORTED_FIELD_TYPES: Final = ((str,), (dict,), (deque,), (deque,), (str, _NONE))


def _trust(span: Any, fields: tuple[Any, ...], expected: tuple[tuple[type, ...], ...], trusted: set[type]) -> bool:
    """Whether ``span``'s private ``fields`` have the ``expected`` types; its class joins ``trusted`` if so."""
    if all(type(field) in types for field, types in zip(fields, expected, strict=True)):
        trusted.add(type(span))
        return True
    return False


#: Span classes whose fields :func:`exported_span` reads were found to have the expected types.
_TRUSTED_EXPORT_TYPES: Final[set[type]] = set()


def exported_span(span: Any) -> tuple[str, dict[str, Any], Sequence[Any], Sequence[Any], str | None]:
    """(name, attributes, events, links, status description) of an ended span in one call: what an export
    request carries of it besides ids and times, for weighing every exported span."""
    try:
        fields = span._name, span._attributes._dict, span._events._dq, span._links._dq, span._status.description
    except AttributeError:
        pass
    else:
        if type(span) in _TRUSTED_EXPORT_TYPES or _trust(span, fields, _EXPORTED_FIELD_TYPES, _TRUSTED_EXPORT_TYPES):
            return fields
    description = getattr(getattr(span, "status", None), "description", None)
    return (
        name_of(span),
        attributes_of(span),
        span_events(span),
        span_links(span),
        description if isinstance(description, str) else None,
    )


#: Event classes whose ``_name`` and ``_attributes._dict`` were found to be a str and a dict.
_TRUSTED_EVENT_TYPES: Final[set[type]] = set()


def event_parts(event: Any) -> tuple[str, dict[str, Any]]:
    """(name, attributes) of a span event in one call: :func:`name_of` and :func:`attributes_of` at once.

    Like :func:`ended_span`, the types are checked on the first event of each class.
    """
    try:
        parts = event._name, event._attributes._dict
    except AttributeError:
        pass
    else:
        if type(event) in _TRUSTED_EVENT_TYPES:
            return parts
        if type(parts[0]) is str and type(parts[1]) is dict:
            _TRUSTED_EVENT_TYPES.add(type(event))
            return parts
    return name_of(event), attributes_of(event)


def attributes_of(item: Any) -> dict[str, Any]:
    """A span's, event's or link's attributes as its own dict (``BoundedAttributes._dict``, or the plain dict
    ``ReadableSpan(attributes={...})`` keeps); a copy of the public ``item.attributes`` else."""
    try:
        inner = item._attributes
    except AttributeError:
        return _public_attributes(item)
    if inner is None:
        return {}
    try:
        inner = inner._dict
    except AttributeError:
        pass
    if type(inner) is dict:
        return inner
    return _public_attributes(item)


#: Span classes whose fields :func:`started_span` reads were found to have the expected types.
_TRUSTED_START_TYPES: Final[set[type]] = set()
_STARTED_FIELD_TYPES: Final = ((str,), (dict,), (str,))


def started_span(span: Any) -> tuple[str, dict[str, Any], str | None]:
    """(name, attributes, instrumentation scope name) of a starting span in one call: what the pipeline reads
    of every span that starts, where each property call and each call of :func:`name_of` counts."""
    try:
        fields = span._name, span._attributes._dict, span._instrumentation_scope._name
    except AttributeError:  # a field missing, or a span without a scope
        pass
    else:
        if type(span) in _TRUSTED_START_TYPES or _trust(span, fields, _STARTED_FIELD_TYPES, _TRUSTED_START_TYPES):
            return fields
    scope_name = getattr(getattr(span, "instrumentation_scope", None), "name", None)
    return name_of(span), attributes_of(span), scope_name if isinstance(scope_name, str) else None


def name_of(item: Any) -> str:
    """A span's or event's ``_name``; the public ``name`` when it is missing or not a string."""
    try:
        name = item._name
    except AttributeError:
        return str(item.name)
    return name if type(name) is str else str(item.name)


def span_events(span: Any) -> Sequence[Any]:
    """An ended span's events without the tuple ``span.events`` builds (``BoundedList._dq``)."""
    try:
        inner = span._events._dq
    except AttributeError:
        inner = getattr(span, "_events", None)  # a list or tuple, as ReadableSpan(events=[...]) keeps it
    if type(inner) is deque or type(inner) in _SEQUENCES:
        return inner  # type: ignore[no-any-return]
    return tuple(span.events or ())


def has_events(span: Any) -> bool:
    """Whether an ended span holds any event, without building the tuple ``span.events`` builds."""
    try:
        return bool(span._events._dq)
    except AttributeError:
        return bool(span_events(span))


def span_links(span: Any) -> Sequence[Any]:
    """A span's links without the tuple ``span.links`` builds (``BoundedList._dq``)."""
    try:
        inner = span._links._dq
    except AttributeError:
        inner = getattr(span, "_links", None)
    if type(inner) is deque or type(inner) in _SEQUENCES:
        return inner  # type: ignore[no-any-return]
    return tuple(span.links or ())


def span_context(span: Any) -> SpanContext:
    """``span._context`` (a :class:`SpanContext`, which is a tuple: ``[0]`` trace id, ``[1]`` span id)."""
    try:
        found = span._context
    except AttributeError:
        found = None
    if type(found) is SpanContext:
        return found
    getter = getattr(span, "get_span_context", None)
    context = getter() if getter is not None else span.context
    if not isinstance(context, SpanContext):
        raise TypeError(f"{type(span).__name__} has no span context")
    return context


def parent_context(span: Any) -> SpanContext | None:
    """``span._parent``: the parent's span context, None for a root span."""
    try:
        found = span._parent
    except AttributeError:
        return _public_parent(span)
    if found is None or type(found) is SpanContext:
        return found
    return _public_parent(span)


def _public_parent(span: Any) -> SpanContext | None:
    parent = span.parent
    return parent if isinstance(parent, SpanContext) else None


def _public_attributes(item: Any) -> dict[str, Any]:
    public = item.attributes
    return dict(public) if public else {}
