"""Session summaries computed from a trace's spans (for sources without a summary table).

The counts are the ones the store's exporter keeps in its ``traces`` table at ingest, counted the
same way (``SpanRecord.part``, ``SpanRecord.is_failure``, ``status.FAILING_KINDS``,
``status.ERROR_ENTRY_EVENT``), so ``logs`` gives a session the same status on the store and on Tempo.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import SessionSummary, SpanRecord
from otel_worklog._internal.span_kinds import ESCALATION
from otel_worklog._internal.status import ERROR_ENTRY_EVENT, FAILING_KINDS

__all__ = ["summarize_trace"]


@dataclass(slots=True)
class _Counts:
    escalations: set[str] = field(default_factory=set)
    resolved: set[str] = field(default_factory=set)
    escalation_spans: int = 0
    errors: int = 0
    failed_bots: int = 0
    error_entries: int = 0

    def add(self, span: SpanRecord) -> None:
        kind = span.part
        if kind is ESCALATION:
            self.escalation_spans += 1
            self.escalations.add(span.span_id)
        if span.is_failure:  # a copy's failure, or one by framework control flow, is none
            self.errors += 1
            self.failed_bots += kind in FAILING_KINDS
        for event in span.events:
            if event.name == ERROR_ENTRY_EVENT:
                self.error_entries += 1
            elif event.name == sc.EVENT_ESCALATION_RESOLVED:
                target = event.attributes.get(sc.WORKLOG_ESCALATION_SPAN_ID)
                if isinstance(target, str):
                    self.resolved.add(target.lower())


def _counts(spans: Iterable[SpanRecord]) -> _Counts:
    counts = _Counts()
    for span in spans:
        counts.add(span)
    return counts


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
    counts = _counts(spans)
    return SessionSummary(
        trace_id=root.trace_id,
        workspace_id=workspace,
        workspace_type=wtype if isinstance(wtype, str) else None,
        query=query if isinstance(query, str) else None,
        bots=tuple(bots),
        start_ns=min(s.start_ns for s in spans),
        end_ns=max(s.end_ns for s in spans),
        escalations=counts.escalation_spans,
        errors=counts.errors,
        span_count=len(spans),
        failed_bots=counts.failed_bots,
        error_entries=counts.error_entries,
        resolved_escalations=len(counts.escalations & counts.resolved),
    )
