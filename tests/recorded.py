"""Typed reads of what the SDK recorded on a span, event or link, for assertions.

The SDK types attributes as ``Mapping | None`` of any attribute value, and a span's parent and times as
optional, though a recorded (ended) span has them: each helper narrows once, here, and says what it
found if it was not what the test reads it as.
"""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link
from opentelemetry.util.types import AttributeValue

Recorded = ReadableSpan | Event | Link


def attrs(item: Recorded) -> Mapping[str, AttributeValue]:
    """The attributes of a recorded span, event or link."""
    attributes = item.attributes
    assert attributes is not None, f"{item!r} has no attributes"
    return attributes


def str_attr(item: Recorded, key: str) -> str:
    """A string attribute."""
    value = attrs(item)[key]
    assert isinstance(value, str), f"{key} is {value!r}, not a string"
    return value


def int_attr(item: Recorded, key: str) -> int:
    """An integer attribute."""
    value = attrs(item)[key]
    assert isinstance(value, int), f"{key} is {value!r}, not an integer"
    return value


def dropped_attrs(item: Recorded) -> int:
    """How many attributes the SDK's limits evicted from ``item``."""
    attributes = attrs(item)
    assert isinstance(attributes, BoundedAttributes), type(attributes)
    return attributes.dropped


def parent_id(span: ReadableSpan) -> int:
    """The span id of ``span``'s parent."""
    assert span.parent is not None, f"{span.name} has no parent"
    return span.parent.span_id


def duration_ns(span: ReadableSpan) -> int:
    """How long an ended span lasted, in nanoseconds."""
    assert span.start_time is not None and span.end_time is not None, f"{span.name} has not ended"
    return span.end_time - span.start_time
