"""Session summaries computed from a trace's spans (for sources without a summary table)."""

from __future__ import annotations

from collections.abc import Sequence

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import SessionSummary, SpanRecord

__all__ = ["summarize_trace"]


def summarize_trace(spans: Sequence[SpanRecord]) -> SessionSummary | None:
    """What ``otel-worklog logs`` shows about one trace, or None for no spans."""
    if not spans:
        return None
    roots = [s for s in spans if s.parent_span_id is None] or [min(spans, key=lambda s: s.start_ns)]
    root = min(roots, key=lambda s: s.start_ns)
    workspace = root.workspace_id or next((s.workspace_id for s in spans if s.workspace_id), None)
    wtype = root.attributes.get(sc.WORKSPACE_TYPE)
    query = root.attributes.get(sc.WORKLOG_QUERY)
    bots = sorted({s.bot_name for s in spans if s.bot_name})
    return SessionSummary(
        trace_id=root.trace_id,
        workspace_id=workspace,
        workspace_type=wtype if isinstance(wtype, str) else None,
        query=query if isinstance(query, str) else None,
        bots=tuple(bots),
        start_ns=min(s.start_ns for s in spans),
        end_ns=max(s.end_ns for s in spans),
        escalations=sum(1 for s in spans if s.is_escalation),
        errors=sum(1 for s in spans if s.is_error),
        span_count=len(spans),
    )
