"""How much of a backend's capacity a span takes, to cut export batches that would be too big.

The batch processor groups spans by count. A count that suits ordinary spans makes a request far
over a receiver's cap when every span carries large values: 2,048 spans with 16 KiB tool arguments
encode to about 68 MB, past the OTLP/HTTP exporter's 64 MiB limit, and that exporter then drops the
whole batch. The estimate errs high (each value's encoded length, plus the most protobuf's tags and length
prefixes take around it), so a batch cut to an estimated size never encodes larger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from otel_worklog._internal.sdk_compat import attributes_of, event_parts, exported_span, span_events

__all__ = ["OTLP_REQUEST", "STORE_TRANSACTION", "BatchLimit", "estimated_size", "records"]

#: Per span: ids, times, kind, status code, flags and the framing around them.
_SPAN_OVERHEAD: Final = 96
#: Per event or link: its time or ids and framing.
_CHILD_OVERHEAD: Final = 48
#: Per attribute: the tags and length prefixes of its KeyValue, its key and its AnyValue.
_FIELD_OVERHEAD: Final = 24
#: Per element of an array value: its own AnyValue's tag and length prefix, and its value's tag.
_ELEMENT_OVERHEAD: Final = 12
#: A number or a bool: a varint takes at most 10 bytes, a double 8.
_NUMBER_SIZE: Final = 10
_NUMBERS: Final = (bool, int, float)
_ARRAYS: Final = (tuple, list)


def _text_size(text: str) -> int:
    """UTF-8 bytes of ``text`` (``isascii`` is a flag check in CPython, so most texts take no encoding)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _value_size(value: Any) -> int:
    kind = type(value)
    if kind is str:
        return _text_size(value)
    if kind in _NUMBERS:
        return _NUMBER_SIZE
    if kind in _ARRAYS:
        return sum(_ELEMENT_OVERHEAD + _value_size(item) for item in value)
    if kind is bytes:
        return len(value)
    return _text_size(repr(value))  # not an attribute type the SDK keeps: its text, as an upper bound


def _attributes_size(attributes: Mapping[str, Any]) -> int:
    """Lengths, not text: a 16 KiB tool argument is weighed in the time a short one is.

    Keys and string values are weighed inline, without a call: this runs for every attribute of
    every exported span.
    """
    size = _FIELD_OVERHEAD * len(attributes)
    for key, value in attributes.items():
        size += len(key) if key.isascii() else _text_size(key)
        kind = type(value)
        if kind is str:
            size += len(value) if value.isascii() else _text_size(value)
        elif kind in _NUMBERS:
            size += _NUMBER_SIZE
        else:
            size += _value_size(value)
    return size


def estimated_size(span: Any) -> int:
    """Bytes ``span`` takes in an OTLP export request, estimated from above.

    Every exported span is weighed, on the export thread, so it is read in one call (:func:`exported_span`).
    """
    name, attributes, events, links, description = exported_span(span)
    size = _SPAN_OVERHEAD + _text_size(name) + _attributes_size(attributes)
    if description:
        size += _text_size(description)
    for event in events:
        event_name, event_attributes = event_parts(event)
        size += _CHILD_OVERHEAD + _text_size(event_name) + _attributes_size(event_attributes)
    for link in links:
        size += _CHILD_OVERHEAD + _attributes_size(attributes_of(link))
    return size


def records(span: Any) -> int:
    """Rows ``span`` becomes in the store: itself and each of its events."""
    return 1 + len(span_events(span))


@dataclass(frozen=True, slots=True)
class BatchLimit:
    """At most ``most`` of what ``weigh`` measures in one export (a span heavier on its own still goes alone)."""

    weigh: Callable[[Any], int]
    most: int


#: One OTLP request: the collector's gRPC receiver takes 4 MiB by default (its HTTP receiver 20 MiB,
#: the Python OTLP/HTTP exporter 64 MiB).
OTLP_REQUEST: Final = BatchLimit(estimated_size, 4 * 1024 * 1024)
#: One store transaction: the write lock is held while it is written, so other writers (and a fork,
#: which waits for our exporter) wait for one bounded transaction, not a batch of 2,048 long bot spans.
STORE_TRANSACTION: Final = BatchLimit(records, 1_024)
