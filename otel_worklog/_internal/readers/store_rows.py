"""Rows of the embedded store turned into span records, many at a time.

Reading 200,000 spans with a ``json.loads`` per attributes value and an events query per 500 spans
took 2.3 s. Here the attributes of a whole batch of rows (spans, events and links) go through the C
JSON scanner in one call, which also lets the records share their attribute keys, and each record is
built without the frozen dataclass's ``object.__setattr__`` per field.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from operator import itemgetter
from typing import Any, Final

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.model import EventRecord, LinkRecord, SpanRecord

__all__ = [
    "EVENT_COLUMNS",
    "LINK_COLUMNS",
    "SPAN_COLUMNS",
    "START_ORDER",
    "build_spans",
    "decode_objects",
    "loads_object",
    "new_span",
]

_KIND: Final = "INTERNAL"
_STATUS: Final = "UNSET"
_SCOPE: Final = sc.INSTRUMENTATION_SCOPE
#: The columns :func:`build_spans` expects, in this order. Columns that nearly always hold one value come
#: back as NULL when they do: None costs nothing to fetch, a string is allocated per row (a tenth of the fetch).
SPAN_COLUMNS: Final = (
    f"id, trace_id, span_id, parent_span_id, name, NULLIF(kind, '{_KIND}'), start_ns, end_ns,"
    f" NULLIF(status_code, '{_STATUS}'), NULLIF(status_message, ''), attributes, NULLIF(scope, '{_SCOPE}'),"
    " resource_id"
)
EVENT_COLUMNS: Final = "span_rowid, name, time_ns, attributes"
LINK_COLUMNS: Final = "span_rowid, trace_id, span_id, attributes"
#: Sort key of a :data:`SPAN_COLUMNS` row: (start_ns, row id), the order every reader returns spans in.
START_ORDER: Final = itemgetter(6, 0)

_ATTRIBUTES: Final = 10
_RESOURCE_ID: Final = 12
# typeshed types the argument as a scanner; any object with a decoder's settings is what it reads.
_scan: Final = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[arg-type]


def loads_object(text: str | None) -> dict[str, Any]:
    """The JSON object in ``text``; ``{}`` for an empty, broken or non-object value."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def decode_objects(texts: Sequence[str | None]) -> list[dict[str, Any]]:
    """:func:`loads_object` of each text, parsed as one JSON array (one C call instead of one per text)."""
    if not texts:
        return []
    try:
        values = _scan("[" + ",".join(texts) + "]", 0)[0]  # type: ignore[arg-type]  # a None raises TypeError
    except (ValueError, TypeError, StopIteration):
        values = None
    if type(values) is not list or len(values) != len(texts):
        return [loads_object(text) for text in texts]  # an empty or broken value somewhere: one at a time
    return [value if type(value) is dict else {} for value in values]


_new: Final = object.__new__
# The slot of each field, set directly: the frozen dataclass's __init__ goes through object.__setattr__
# by name, which is most of the cost of building 200,000 records. tests/store pins the field order.
(
    _set_trace_id,
    _set_span_id,
    _set_parent_span_id,
    _set_name,
    _set_kind,
    _set_start_ns,
    _set_end_ns,
    _set_status_code,
    _set_status_message,
    _set_attributes,
    _set_events,
    _set_links,
    _set_resource,
    _set_scope,
) = (getattr(SpanRecord, f.name).__set__ for f in fields(SpanRecord))


def new_span(
    trace_id: str,
    span_id: str,
    parent_span_id: str | None,
    name: str,
    kind: str,
    start_ns: int,
    end_ns: int,
    status_code: str,
    status_message: str,
    attributes: Mapping[str, Any],
    events: tuple[EventRecord, ...],
    links: tuple[LinkRecord, ...],
    resource: Mapping[str, Any],
    scope: str,
) -> SpanRecord:
    """The same record as ``SpanRecord(...)`` with these arguments, built in a third of the time."""
    span: SpanRecord = _new(SpanRecord)
    _set_trace_id(span, trace_id)
    _set_span_id(span, span_id)
    _set_parent_span_id(span, parent_span_id)
    _set_name(span, name)
    _set_kind(span, kind)
    _set_start_ns(span, start_ns)
    _set_end_ns(span, end_ns)
    _set_status_code(span, status_code)
    _set_status_message(span, status_message)
    _set_attributes(span, attributes)
    _set_events(span, events)
    _set_links(span, links)
    _set_resource(span, resource)
    _set_scope(span, scope)
    return span


def _group(
    rows: Sequence[Any], attributes: Sequence[dict[str, Any]], make: Callable[[Any, Any, dict[str, Any]], Any]
) -> dict[int, list[Any]]:
    """Events or links by span row id; each row is (span_rowid, a, b, attributes) and becomes make(a, b, attrs)."""
    grouped: dict[int, list[Any]] = {}
    for row, attrs in zip(rows, attributes, strict=True):
        item = make(row[1], row[2], attrs)
        found = grouped.get(row[0])
        if found is None:
            grouped[row[0]] = [item]
        else:
            found.append(item)
    return grouped


def build_spans(
    rows: Sequence[Any],
    event_rows: Sequence[Any],
    link_rows: Sequence[Any],
    resource: Callable[[int | None], Mapping[str, Any]],
) -> list[SpanRecord]:
    """Records for ``rows`` (:data:`SPAN_COLUMNS`), in their order, with their events and links attached.

    ``event_rows`` and ``link_rows`` are (:data:`EVENT_COLUMNS`) and (:data:`LINK_COLUMNS`) rows in
    (span, id) order; ``resource`` gives the attributes of a resource id (called once per id).
    """
    resources = {rid: resource(rid) for rid in {row[_RESOURCE_ID] for row in rows}}
    texts = [row[_ATTRIBUTES] for row in rows]
    texts += [row[3] for row in event_rows]
    texts += [row[3] for row in link_rows]
    decoded = decode_objects(texts)
    first_link = len(rows) + len(event_rows)
    events = _group(event_rows, decoded[len(rows) : first_link], EventRecord)
    links = _group(link_rows, decoded[first_link:], LinkRecord)
    get_events, get_links = events.get, links.get
    spans = []
    for (rowid, trace_id, span_id, parent, name, kind, start, end, status, message, _, scope, rid), attrs in zip(
        rows, decoded[: len(rows)], strict=True
    ):
        own_events = get_events(rowid)
        own_links = get_links(rowid)
        spans.append(
            new_span(
                trace_id,
                span_id,
                parent,
                name,
                _KIND if kind is None else kind,
                start,
                end,
                _STATUS if status is None else status,
                message or "",
                attrs,
                tuple(own_events) if own_events else (),
                tuple(own_links) if own_links else (),
                resources[rid],
                _SCOPE if scope is None else scope,
            )
        )
    return spans
