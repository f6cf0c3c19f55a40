"""OTLP/JSON in and out: what ``otel-worklog export`` writes and what Tempo's trace API returns.

Writing follows the OTLP/JSON rules (hex ids, 64-bit integers as strings, enums
as numbers) so a collector's OTLP/HTTP JSON receiver or another backend can load
the file. Reading is lenient: it accepts both hex and base64 ids (Tempo uses
base64, tempo#5437), enum names or numbers, and Tempo's older ``batches`` shape.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from otel_worklog._internal.query.ids import normalize_span_id, normalize_trace_id
from otel_worklog._internal.query.records import EventRecord, LinkRecord, SpanRecord

__all__ = ["decode_any_value", "decode_resource_spans", "encode_any_value", "encode_traces"]

_KINDS = ("UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER")
_STATUS = ("UNSET", "OK", "ERROR")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


# -- values ---------------------------------------------------------------------
def encode_any_value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:  # OTLP's int is 64 bits: keep the digits as text
            return {"stringValue": str(value)}
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return {"stringValue": str(value)}
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [encode_any_value(item) for item in value]}}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": encode_attributes(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def encode_attributes(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(key), "value": encode_any_value(value)} for key, value in attributes.items()]


def decode_any_value(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return value
    if "stringValue" in value:
        return str(value["stringValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "doubleValue" in value:
        try:
            return float(value["doubleValue"])
        except (TypeError, ValueError):
            return value["doubleValue"]
    if "arrayValue" in value:
        return [decode_any_value(item) for item in (value["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in value:
        return decode_attributes((value["kvlistValue"] or {}).get("values", []) or [])
    if "bytesValue" in value:
        return str(value["bytesValue"])
    return None


def decode_attributes(items: Iterable[Any] | None) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in items or ():
        if isinstance(item, Mapping) and "key" in item:
            result[str(item["key"])] = decode_any_value(item.get("value"))
    return result


# -- writing --------------------------------------------------------------------
def _encode_span(span: SpanRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": _KINDS.index(span.kind) if span.kind in _KINDS else 1,
        "startTimeUnixNano": str(span.start_ns),
        "endTimeUnixNano": str(span.end_ns),
        "attributes": encode_attributes(span.attributes),
        "events": [
            {"timeUnixNano": str(e.time_ns), "name": e.name, "attributes": encode_attributes(e.attributes)}
            for e in span.events
        ],
        "links": [
            {"traceId": link.trace_id, "spanId": link.span_id, "attributes": encode_attributes(link.attributes)}
            for link in span.links
        ],
        "status": {"code": _STATUS.index(span.status_code) if span.status_code in _STATUS else 0},
    }
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id
    if span.status_message:
        out["status"]["message"] = span.status_message
    return out


def encode_traces(spans: Iterable[SpanRecord]) -> dict[str, Any]:
    """An OTLP ``TracesData`` / ``ExportTraceServiceRequest`` JSON object, grouped by resource and scope."""
    groups: dict[tuple[tuple[tuple[str, str], ...], str], list[SpanRecord]] = {}
    resources: dict[tuple[tuple[str, str], ...], Mapping[str, Any]] = {}
    for span in spans:
        key = tuple(sorted((str(k), repr(v)) for k, v in span.resource.items()))
        resources[key] = span.resource
        groups.setdefault((key, span.scope), []).append(span)
    resource_spans: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for (key, scope), members in groups.items():
        entry = resource_spans.setdefault(
            key, {"resource": {"attributes": encode_attributes(resources[key])}, "scopeSpans": []}
        )
        entry["scopeSpans"].append({"scope": {"name": scope}, "spans": [_encode_span(s) for s in members]})
    return {"resourceSpans": list(resource_spans.values())}


# -- reading --------------------------------------------------------------------
def _enum(value: Any, names: tuple[str, ...], prefix: str, default: str) -> str:
    if isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, str):
        name = value.removeprefix(prefix)
        if name in names:
            return name
    return default


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def decode_resource_spans(payload: Mapping[str, Any]) -> list[SpanRecord]:
    """Spans from ``{"resourceSpans": [...]}``, ``{"trace": {...}}`` (Tempo v2) or ``{"batches": [...]}`` (v1)."""
    if isinstance(payload.get("trace"), Mapping):
        payload = payload["trace"]
    groups = payload.get("resourceSpans")
    if groups is None:
        groups = payload.get("batches")
    spans: list[SpanRecord] = []
    for group in groups or ():
        resource = decode_attributes(((group or {}).get("resource") or {}).get("attributes"))
        for scope_group in group.get("scopeSpans") or group.get("instrumentationLibrarySpans") or ():
            scope = scope_group.get("scope") or scope_group.get("instrumentationLibrary") or {}
            scope_name = str(scope.get("name", "") or "")
            for raw in scope_group.get("spans") or ():
                span = _decode_span(raw, resource, scope_name)
                if span is not None:
                    spans.append(span)
    spans.sort(key=lambda s: (s.start_ns, s.span_id))
    return spans


def _decode_span(raw: Mapping[str, Any], resource: Mapping[str, Any], scope: str) -> SpanRecord | None:
    """One OTLP/JSON span; None without a valid trace and span id."""
    trace_id = normalize_trace_id(raw.get("traceId"))
    span_id = normalize_span_id(raw.get("spanId"))
    if trace_id is None or span_id is None:
        return None
    status = raw.get("status") or {}
    return SpanRecord(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=normalize_span_id(raw.get("parentSpanId")),
        name=str(raw.get("name", "")),
        kind=_enum(raw.get("kind"), _KINDS, "SPAN_KIND_", "INTERNAL"),
        start_ns=_int(raw.get("startTimeUnixNano")),
        end_ns=_int(raw.get("endTimeUnixNano")),
        status_code=_enum(status.get("code"), _STATUS, "STATUS_CODE_", "UNSET"),
        status_message=str(status.get("message", "") or ""),
        attributes=decode_attributes(raw.get("attributes")),
        events=tuple(
            EventRecord(
                name=str(e.get("name", "")),
                time_ns=_int(e.get("timeUnixNano")),
                attributes=decode_attributes(e.get("attributes")),
            )
            for e in raw.get("events") or ()
        ),
        links=tuple(_decode_links(raw.get("links"))),
        resource=resource,
        scope=scope,
    )


def _decode_links(links: Iterable[Any] | None) -> Iterable[LinkRecord]:
    for link in links or ():
        trace_id = normalize_trace_id(link.get("traceId"))
        span_id = normalize_span_id(link.get("spanId"))
        if trace_id and span_id:
            yield LinkRecord(trace_id=trace_id, span_id=span_id, attributes=decode_attributes(link.get("attributes")))
