"""Rows of the embedded store turned into span records, many at a time.

Reading 200,000 spans with a ``json.loads`` per attributes value and an events query per 500 spans
took 2.3 s. Here the attributes of a whole batch of rows (spans, events and links) go through the C
JSON scanner in one call, which also lets the records share their attribute keys.
"""

from __future__ import annotations

import json
import json.scanner
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Final

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import EventRecord, LinkRecord, SpanRecord
from otel_worklog._internal.span_kinds import Kind
from otel_worklog._internal.store.schema import PART_CODES

__all__ = [
    "EVENT_COLUMNS",
    "LINK_COLUMNS",
    "LISTED_ORDER",
    "LISTED_SPAN_COLUMNS",
    "SPAN_COLUMNS",
    "build_spans",
    "decode_objects",
    "loads_object",
]

_KIND: Final = "INTERNAL"
_STATUS: Final = "UNSET"
_SCOPE: Final = sc.INSTRUMENTATION_SCOPE
_FIELDS: Final = (
    f"s.span_id, s.parent_span_id, s.name, NULLIF(s.kind, '{_KIND}'), s.start_ns, s.end_ns,"
    f" NULLIF(s.status_code, '{_STATUS}'), NULLIF(s.status_message, ''), s.attributes, NULLIF(s.scope, '{_SCOPE}'),"
    " s.resource_id, s.part"
)
#: The columns of ``spans s`` that :func:`build_spans` expects, in this order: the row id, the trace key, then
#: the span's fields. Columns that nearly always hold one value come back as NULL when they do: None costs
#: nothing to fetch, a string is allocated per row (a tenth of the fetch). Here the trace key is the trace id.
SPAN_COLUMNS: Final = f"s.id, s.trace_id, {_FIELDS}"
#: :data:`SPAN_COLUMNS` for ``json_each(?) j JOIN spans s ON s.trace_id = j.value``: the trace key is the
#: position of the span's trace in that JSON list, a small int instead of a 32-character string per row.
LISTED_SPAN_COLUMNS: Final = f"s.id, j.key, {_FIELDS}"
EVENT_COLUMNS: Final = "span_rowid, name, time_ns, attributes"
LINK_COLUMNS: Final = "span_rowid, trace_id, span_id, attributes"
#: Sort key of a :data:`LISTED_SPAN_COLUMNS` row: grouped by trace in list order, then by (start_ns, row id),
#: the order every reader returns a trace's spans in.
LISTED_ORDER: Final = itemgetter(1, 6, 0)

#: A stored part code's kind (a code this release does not know reads as None: classified when asked).
_PARTS: Final[Mapping[Any, Kind]] = {code: kind for kind, code in PART_CODES.items()}
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


def _json_array(texts: Sequence[Any]) -> str:
    """The texts as one JSON array, brackets on the first and last text, not on copies of the whole; None: TypeError."""
    items = list(texts)
    items[0] = "[" + items[0]
    items[-1] += "]"
    return ",".join(items)


def decode_objects(texts: Sequence[str | None]) -> list[dict[str, Any]]:
    """:func:`loads_object` of each text, parsed as one JSON array (one C call instead of one per text)."""
    if not texts:
        return []
    try:
        values = _scan(_json_array(texts), 0)[0]
    except (ValueError, TypeError, StopIteration):
        values = None
    if type(values) is not list or len(values) != len(texts):
        return [loads_object(text) for text in texts]  # an empty or broken value somewhere: one at a time
    return [value if type(value) is dict else {} for value in values]


def _group(
    rows: Sequence[Any], attributes: Sequence[dict[str, Any]], make: Callable[[Any, Any, dict[str, Any]], Any]
) -> dict[int, tuple[Any, ...]]:
    """Events or links by span row id; each row is (span_rowid, a, b, attributes) and becomes make(a, b, attrs)."""
    grouped: dict[int, list[Any]] = {}
    for row, attrs in zip(rows, attributes, strict=True):
        item = make(row[1], row[2], attrs)
        found = grouped.get(row[0])
        if found is None:
            grouped[row[0]] = [item]
        else:
            found.append(item)
    return {rowid: tuple(items) for rowid, items in grouped.items()}


def build_spans(
    rows: Sequence[Any],
    trace_ids: Mapping[Any, str],
    event_rows: Sequence[Any],
    link_rows: Sequence[Any],
    resource: Callable[[int | None], Mapping[str, Any]],
) -> list[SpanRecord]:
    """Records for ``rows`` (:data:`SPAN_COLUMNS`), in their order, with their events and links attached.

    ``trace_ids`` gives the trace id of each row's trace key (so a trace's records share one string);
    ``event_rows`` and ``link_rows`` are (:data:`EVENT_COLUMNS`) and (:data:`LINK_COLUMNS`) rows in
    (span, id) order; ``resource`` gives the attributes of a resource id (called once per id).
    """
    resources = {rid: resource(rid) for rid in {row[_RESOURCE_ID] for row in rows}}
    texts = [row[_ATTRIBUTES] for row in rows]
    texts += [row[3] for row in event_rows]
    texts += [row[3] for row in link_rows]
    decoded = decode_objects(texts)
    first_link = len(rows) + len(event_rows)
    get_events = _group(event_rows, decoded[len(rows) : first_link], EventRecord).get
    get_links = _group(link_rows, decoded[first_link:], LinkRecord).get
    return [
        SpanRecord(
            trace_ids[trace],
            span_id,
            parent,
            name,
            _KIND if kind is None else kind,
            start,
            end,
            _STATUS if status is None else status,
            message or "",
            attrs,
            get_events(rowid, ()),
            get_links(rowid, ()),
            resources[rid],
            _SCOPE if scope is None else scope,
            _PARTS.get(part),  # classified at ingest (None for a span stored before: classified when asked)
        )
        for (rowid, trace, span_id, parent, name, kind, start, end, status, message, _, scope, rid, part), attrs in zip(
            rows, decoded[: len(rows)], strict=True
        )
    ]
