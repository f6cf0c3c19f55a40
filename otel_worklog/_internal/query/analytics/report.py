"""The weekly report's content: what happened in a window of days, ready for any renderer."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

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

__all__ = ["Report", "build_report", "day_of"]


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


def build_report(history: History, *, days: float = 7.0, now_ns: int | None = None) -> Report:
    """Everything the report shows, for workflows that started in the last ``days`` days."""
    until = now_ns if now_ns is not None else time.time_ns()
    since = until - int(days * NS_PER_DAY)
    window = workflows_between(history, since, until + 1)
    per_day: dict[str, list[int]] = {}
    day_ns = since
    while day_of(day_ns) <= day_of(until):
        per_day.setdefault(day_of(day_ns), [0, 0])
        day_ns += NS_PER_DAY
    per_day.setdefault(day_of(until), [0, 0])
    alerts: Counter[str] = Counter()
    for workflow in window.workflows:
        counts = per_day.setdefault(day_of(workflow.start_ns), [0, 0])
        counts[0] += 1
        counts[1] += int(workflow.success)
        alerts.update(workflow.alerts)
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
    )


def day_of(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=UTC).strftime("%Y-%m-%d")
