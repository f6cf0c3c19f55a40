"""``otel-worklog insights``: the shareable insights recorded in traces, with who they apply to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.record.insights import Insight, insight_from_event


def list_insights(
    spans: Iterable[SpanRecord],
    *,
    workspace: str | None = None,
    bot: str | None = None,
    category: str | None = None,
) -> list[Insight]:
    """Shareable insights, oldest first, duplicates once; ``bot`` keeps those whose scope applies to it."""
    workspace_bots: dict[str, set[str]] = {}
    found: list[tuple[SpanRecord, Any]] = []
    for span in spans:
        attrs = span.attributes
        ws = span.workspace_id
        if ws is not None:
            participants = attrs.get(sc.WORKSPACE_PARTICIPANTS)
            known = workspace_bots.setdefault(ws, set())
            if isinstance(participants, (list, tuple)):
                known.update(str(name) for name in participants)
            if span.bot_name is not None:
                known.add(span.bot_name)
        for event in span.events:
            if event.name == sc.EVENT_INSIGHT:
                found.append((span, event))
    seen: set[str] = set()
    insights = []
    frozen = {name: frozenset(bots) for name, bots in workspace_bots.items()}
    for span, event in sorted(found, key=lambda item: item[1].time_ns):
        insight = insight_from_event(
            event.attributes,
            span.attributes,
            frozen,
            trace_id=span.trace_id,
            span_id=span.span_id,
            time_ns=event.time_ns,
        )
        if insight is None or insight.id in seen:
            continue
        seen.add(insight.id)
        if workspace is not None and insight.workspace_id != workspace:
            continue
        if category is not None and insight.category != category:
            continue
        if bot is not None and not insight.applies(bot):
            continue
        insights.append(insight)
    return insights
