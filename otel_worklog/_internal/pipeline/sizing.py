"""How much of a backend's capacity a span takes, to cut export batches that would be too big.

The batch processor groups spans by count. A count that suits ordinary spans makes a request far
over a receiver's cap when every span carries large values: 2,048 spans with 16 KiB tool arguments
encode to about 68 MB, past the OTLP/HTTP exporter's 64 MiB limit, and that exporter then drops the
whole batch. The estimate errs high (the text of the attributes, plus a fixed allowance per field
above what protobuf's framing takes), so a batch cut to an estimated size never encodes larger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from otel_worklog._internal.sdk_compat import attributes_of, name_of, span_events, span_links

__all__ = ["OTLP_REQUEST", "STORE_TRANSACTION", "BatchLimit", "estimated_size", "records"]

#: Per span: ids, times, kind, status, flags and the framing around them.
_SPAN_OVERHEAD: Final = 96
#: Per event or link: its time or ids and framing.
_CHILD_OVERHEAD: Final = 48
#: Per attribute: the key-value framing and a number's varint or fixed64.
_FIELD_OVERHEAD: Final = 16


def _text_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _attributes_size(attributes: Mapping[str, Any]) -> int:
    """The attributes' ``repr`` (one call in C) is at least as long as their encoded keys and values: quotes,
    separators and escapes only add to it, and a number's digits outnumber its varint's bytes."""
    return _FIELD_OVERHEAD * len(attributes) + _text_size(repr(attributes)) if attributes else 0


def estimated_size(span: Any) -> int:
    """Bytes ``span`` takes in an OTLP export request, estimated from above."""
    size = _SPAN_OVERHEAD + _text_size(name_of(span)) + _attributes_size(attributes_of(span))
    for event in span_events(span):
        size += _CHILD_OVERHEAD + _text_size(name_of(event)) + _attributes_size(attributes_of(event))
    for link in span_links(span):
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
