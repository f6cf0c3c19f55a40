"""The weekly report's content: what happened in a window of days, ready for any renderer.

Every session, escalation and error cluster carries its trace id, so each renderer can say which
command opens it (``otel-worklog explain <trace id>``).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.analytics.analyses import (
    NS_PER_DAY,
    BotRow,
    BotTrend,
    ErrorCluster,
    OverheadStats,
    WorkflowStats,
    analyze_workflows,
    bot_trends,
    compare_bots,
    coordination_overhead,
    error_clusters,
    workflows_between,
)
from otel_worklog._internal.query.analytics.history import History
from otel_worklog._internal.query.records import SpanRecord

__all__ = ["Report", "ReportEscalation", "ReportSession", "build_report", "day_of", "escalations_of"]


@dataclass
class ReportSession:
    """One workflow of the window, as the report lists it."""

    trace_id: str
    start_ns: int
    workspace_id: str | None
    status: str
    bots: list[str]
    duration_s: float
    open_escalations: int


@dataclass
class ReportEscalation:
    """One escalation of the window: open, or resolved with its resolution."""

    trace_id: str
    span_id: str
    time_ns: int
    workspace_id: str | None
    bot: str | None
    target: str
    reason: str
    resolution: str | None = None

    @property
    def is_open(self) -> bool:
        return self.resolution is None


@dataclass
class Report:
    days: float
    since_ns: int
    until_ns: int
    workflows: WorkflowStats
    overhead: OverheadStats
    bots: list[BotRow]
    trends: list[BotTrend]
    errors: list[ErrorCluster]
    per_day: list[tuple[str, int, int]]  # (YYYY-MM-DD, workflows, successful)
    alerts: dict[str, int]
    total_tokens: int
    total_cost: float
    sessions: list[ReportSession] = field(default_factory=list)
    escalations: list[ReportEscalation] = field(default_factory=list)
    #: Days and times in UTC, else in local time.
    utc: bool = True
    #: Workflows with tokens or a cost recorded (none: the totals are not known, not zero).
    metered_workflows: int = 0


def escalations_of(spans: Iterable[SpanRecord], resolutions: Mapping[str, str]) -> list[ReportEscalation]:
    """Escalation spans as report rows, newest first; ``resolutions`` by the escalation's span id."""
    rows = [
        ReportEscalation(
            trace_id=span.trace_id,
            span_id=span.span_id,
            time_ns=span.start_ns,
            workspace_id=span.workspace_id,
            bot=span.bot_name,
            target=str(span.attributes.get(sc.WORKLOG_ESCALATION_TARGET, "user")),
            reason=str(span.attributes.get(sc.WORKLOG_ESCALATION_REASON, "")),
            resolution=resolutions.get(span.span_id.lower()),
        )
        for span in spans
    ]
    return sorted(rows, key=lambda row: row.time_ns, reverse=True)


def build_report(
    history: History,
    *,
    days: float = 7.0,
    now_ns: int | None = None,
    escalations: Sequence[ReportEscalation] = (),
    utc: bool = True,
) -> Report:
    """Everything the report shows, for workflows that started in the last ``days`` days.

    Days are counted in UTC, or in local time with ``utc=False``; ``escalations`` outside the window
    are left out.
    """
    zone = UTC if utc else datetime.now().astimezone().tzinfo
    until = now_ns if now_ns is not None else time.time_ns()
    since = until - int(days * NS_PER_DAY)
    window = workflows_between(history, since, until + 1)
    per_day: dict[str, list[int]] = {}
    day_ns = since
    while day_of(day_ns, zone) <= day_of(until, zone):
        per_day.setdefault(day_of(day_ns, zone), [0, 0])
        day_ns += NS_PER_DAY
    per_day.setdefault(day_of(until, zone), [0, 0])
    alerts: Counter[str] = Counter()
    for workflow in window.workflows:
        counts = per_day.setdefault(day_of(workflow.start_ns, zone), [0, 0])
        counts[0] += 1
        counts[1] += int(workflow.success)
        alerts.update(workflow.alerts)
    sessions = [
        ReportSession(
            trace_id=w.trace_id,
            start_ns=w.start_ns,
            workspace_id=w.workspace_id,
            status=w.status,
            bots=list(w.sequence),
            duration_s=w.duration_s,
            open_escalations=w.unresolved_escalations,
        )
        for w in reversed(window.workflows)
    ]
    return Report(
        days=days,
        since_ns=since,
        until_ns=until,
        workflows=analyze_workflows(window),
        overhead=coordination_overhead(window),
        bots=compare_bots(window),
        trends=bot_trends(history, now_ns=until, recent_days=days),
        errors=error_clusters(window, top=10),
        per_day=[(day, counts[0], counts[1]) for day, counts in sorted(per_day.items())],
        alerts=dict(sorted(alerts.items())),
        total_tokens=sum(w.input_tokens + w.output_tokens for w in window.workflows),
        total_cost=sum(w.cost for w in window.workflows),
        sessions=sessions,
        escalations=[e for e in escalations if since <= e.time_ns <= until],
        utc=utc,
        metered_workflows=sum(1 for w in window.workflows if w.input_tokens or w.output_tokens or w.cost),
    )


def day_of(time_ns: int, zone: tzinfo | None = UTC) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=zone).strftime("%Y-%m-%d")
