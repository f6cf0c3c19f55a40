"""The work still in progress: the open workspace and bot spans of the current workspace, as records.

A span is exported when it ends, so while a workspace runs the store lacks its root and every bot
still working. The workspace scope keeps its open workspace and bot spans (record/scope.py); this
module reads them through the public properties of the SDK's span (``name``, ``attributes``,
``events``, ...), duck-typed, so that ``format_response`` can show everything done so far.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from otel_worklog._internal.query.records import EventRecord, LinkRecord, SpanRecord
from otel_worklog._internal.record.scope import current_scope

__all__ = ["open_spans", "with_open_spans"]

logger = logging.getLogger("otel_worklog")


def open_spans(trace_id: str) -> list[SpanRecord]:
    """The open workspace and bot spans of the current workspace in trace ``trace_id``, as they are now."""
    scope = current_scope()
    if scope is None or scope.workspace is None:
        return []
    now = time.time_ns()
    records = (_record(span, now) for span in scope.workspace.live.open_spans())
    return [record for record in records if record is not None and record.trace_id == trace_id]


def with_open_spans(stored: Iterable[SpanRecord], live: Iterable[SpanRecord]) -> list[SpanRecord]:
    """``stored`` plus the open spans it does not have yet (a stored span is final and wins)."""
    merged = {span.span_id: span for span in live}
    merged.update((span.span_id, span) for span in stored)
    return list(merged.values())


def _hex(value: int, width: int) -> str:
    return format(value, f"0{width}x")


def _record(span: Any, now_ns: int) -> SpanRecord | None:
    """An open SDK span as a record that ends now; None for anything that is not one (it is skipped)."""
    for _ in range(3):
        try:
            return _read(span, now_ns)
        except RuntimeError:  # another thread set an attribute while the attributes were copied: read again
            continue
        except Exception:  # not an SDK span
            logger.debug("otel_worklog: an open span could not be read for the response", exc_info=True)
            return None
    return None


def _read(span: Any, now_ns: int) -> SpanRecord:
    context = span.get_span_context()
    parent = getattr(span, "parent", None)
    status = getattr(span, "status", None)
    resource = getattr(span, "resource", None)
    scope = getattr(span, "instrumentation_scope", None)
    return SpanRecord(
        trace_id=_hex(context.trace_id, 32),
        span_id=_hex(context.span_id, 16),
        parent_span_id=_hex(parent.span_id, 16) if parent is not None else None,
        name=str(span.name),
        kind=str(getattr(getattr(span, "kind", None), "name", "INTERNAL")),
        start_ns=int(span.start_time or now_ns),
        end_ns=now_ns,
        status_code=str(getattr(getattr(status, "status_code", None), "name", "UNSET")),
        status_message=str(getattr(status, "description", None) or ""),
        attributes=dict(span.attributes or {}),
        events=tuple(EventRecord(e.name, int(e.timestamp), dict(e.attributes or {})) for e in span.events),
        links=tuple(
            LinkRecord(_hex(link.context.trace_id, 32), _hex(link.context.span_id, 16), dict(link.attributes or {}))
            for link in span.links
        ),
        resource=dict(getattr(resource, "attributes", None) or {}),
        scope=str(getattr(scope, "name", "") or ""),
    )
