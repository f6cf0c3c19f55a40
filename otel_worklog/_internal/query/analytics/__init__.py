"""Work analytics over finished spans: workflows, coordination overhead, trends, recommendations,
error clusters, bot comparison and the weekly report. Every function takes :class:`SpanRecord`
values (from any ``TraceReader``) or the :class:`History` built from them."""

from __future__ import annotations

from otel_worklog._internal.query.analytics.analyses import (
    HIGH_OVERHEAD_TEXT,
    BotRow,
    BotTrend,
    ErrorCluster,
    EstimateStats,
    OverheadStats,
    WorkflowStats,
    analyze_workflows,
    bot_trends,
    compare_bots,
    coordination_overhead,
    error_clusters,
    workflows_between,
)
from otel_worklog._internal.query.analytics.history import (
    BotSession,
    ErrorOccurrence,
    History,
    Workflow,
    build_history,
)
from otel_worklog._internal.query.analytics.recommend import BotRecommendation, keywords, recommend
from otel_worklog._internal.query.analytics.report import (
    Report,
    ReportEscalation,
    ReportSession,
    build_report,
    escalations_of,
)
from otel_worklog._internal.query.analytics.shared_insights import list_insights
from otel_worklog._internal.query.gcpause import paused_gc

__all__ = [
    "HIGH_OVERHEAD_TEXT",
    "BotRecommendation",
    "BotRow",
    "BotSession",
    "BotTrend",
    "ErrorCluster",
    "ErrorOccurrence",
    "EstimateStats",
    "History",
    "OverheadStats",
    "Report",
    "ReportEscalation",
    "ReportSession",
    "Workflow",
    "WorkflowStats",
    "analyze_workflows",
    "bot_trends",
    "build_history",
    "build_report",
    "compare_bots",
    "coordination_overhead",
    "error_clusters",
    "escalations_of",
    "keywords",
    "list_insights",
    "paused_gc",
    "recommend",
    "workflows_between",
]
