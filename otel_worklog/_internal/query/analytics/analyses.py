"""Work analytics over a :class:`History`: workflows, coordination overhead, bot trends, error
clusters and bot comparison.

Each function returns plain dataclasses (``--json`` prints them as they are); the formulas are
stated beside each function so the numbers can be checked by hand. A bot's *session* is its part in
one workflow (everything it did there, over however many bot spans): "sessions" counts workflows a
bot took part in, and its success, time, tokens and cost are per workflow.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from otel_worklog._internal.query.analytics.history import ARROW, BotSession, ErrorOccurrence, History, Workflow
from otel_worklog._internal.settings import COORDINATION_OVERHEAD_PCT, resolve
from otel_worklog._internal.status import OK, SUCCEEDED

NS_PER_DAY: Final = 86_400 * 1_000_000_000
#: Above the threshold share of time in coordination, this is the recommendation.
HIGH_OVERHEAD_TEXT: Final = (
    "High coordination overhead: give bots larger tasks, or fewer handoffs and messages between them"
)
LOW_OVERHEAD_TEXT: Final = "Coordination overhead is acceptable"
#: A success-rate change of at least this much (10 points) is a trend.
TREND_SUCCESS_DELTA: Final = 0.10
#: With success flat, a duration change of at least this share is a trend.
TREND_DURATION_DELTA: Final = 0.25


def _avg(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _rate(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


@dataclass(slots=True)
class BotPart:
    """One bot's part in one workflow: every span of that bot there (a bot may be called several times).

    Its figures are worked out once, when it is built: each analysis reads them for every part.
    """

    bot: str
    trace_id: str
    start_ns: int
    #: Every span of the bot succeeded (no escalation left open, no failure it did not recover from).
    success: bool
    first_shot: bool
    #: The time the bot worked in the workflow.
    duration_s: float
    tokens: int
    cost: float
    #: Some span of the bot recorded tokens or a cost (without any, zero means "not known").
    usage_recorded: bool
    spans: tuple[BotSession, ...]


def _single_part(trace_id: str, span: BotSession) -> BotPart:
    """The part of a bot called once in the workflow (the common case): the span's own figures, with its
    status worked out once."""
    status = span.status
    tokens = span.tokens
    return BotPart(
        span.bot,
        trace_id,
        span.start_ns,
        status in SUCCEEDED,
        status == OK and span.corrections == 0,  # BotSession.first_shot, without a second status
        span.duration_s,
        tokens,
        span.cost,
        bool(tokens or span.cost),
        (span,),
    )


def _part(trace_id: str, spans: tuple[BotSession, ...]) -> BotPart:
    """The part of a bot called several times in the workflow: every span's figures together."""
    tokens = sum(span.tokens for span in spans)
    cost = sum(span.cost for span in spans)
    return BotPart(
        spans[0].bot,
        trace_id,
        spans[0].start_ns,
        all(span.success for span in spans),
        all(span.first_shot for span in spans),
        sum(span.duration_s for span in spans),
        tokens,
        cost,
        any(span.tokens or span.cost for span in spans),
        spans,
    )


def bot_parts(history: History) -> dict[str, list[BotPart]]:
    """Each bot's parts in the workflows, in workflow order; worked out once per history (read-only)."""
    found: dict[str, list[BotPart]] | None = history.derived.get("bot_parts")
    if found is None:
        found = history.derived["bot_parts"] = _bot_parts(history)
    return found


def _bot_parts(history: History) -> dict[str, list[BotPart]]:
    by_bot: dict[str, list[BotPart]] = {}
    for workflow in history.workflows:
        trace_id = workflow.trace_id
        sessions = workflow.sessions
        if len({session.bot for session in sessions}) == len(sessions):  # each bot called once, as most often
            parts = [_single_part(trace_id, session) for session in sessions]
        else:
            parts = _grouped_parts(trace_id, sessions)
        for part in parts:
            found = by_bot.get(part.bot)
            if found is None:
                by_bot[part.bot] = [part]
            else:
                found.append(part)
    return by_bot


def _grouped_parts(trace_id: str, sessions: list[BotSession]) -> list[BotPart]:
    """A workflow's parts when some bot was called more than once: by bot, in the order each first started."""
    spans_by_bot: dict[str, list[BotSession]] = {}
    for session in sessions:
        spans_by_bot.setdefault(session.bot, []).append(session)
    return [
        _single_part(trace_id, spans[0]) if len(spans) == 1 else _part(trace_id, tuple(spans))
        for spans in spans_by_bot.values()
    ]


# --- Workflows ---------------------------------------------------------------------------------
@dataclass
class EstimateStats:
    workflows: int
    avg_estimated_s: float
    avg_actual_s: float
    avg_ratio: float  # actual / estimated
    over_estimate: int  # took longer than declared


@dataclass
class WorkflowStats:
    total_workflows: int
    successful: int
    success_rate: float
    avg_duration_s: float
    avg_bots_per_workflow: float
    most_common_patterns: list[tuple[str, int]]
    estimates: EstimateStats | None
    failures: dict[str, int] = field(default_factory=dict)


def analyze_workflows(history: History, *, top: int = 5) -> WorkflowStats:
    """Count, success rate, average duration, bots per workflow, common sequences, estimate vs actual."""
    workflows = history.workflows
    successes = [w.success for w in workflows]
    patterns = Counter(ARROW.join(sequence) for sequence in (w.sequence for w in workflows) if sequence)
    return WorkflowStats(
        total_workflows=len(workflows),
        successful=sum(successes),
        success_rate=_rate(successes),
        avg_duration_s=_avg([w.duration_s for w in workflows]),
        avg_bots_per_workflow=_avg([float(len({s.bot for s in w.sessions})) for w in workflows]),
        most_common_patterns=sorted(patterns.items(), key=lambda item: (-item[1], item[0]))[:top],
        estimates=_estimates(workflows),
        failures={
            # Why the others did not succeed (a workflow may have both): status "error", an escalation left open.
            "unhandled_error": sum(1 for w in workflows if w.unhandled_error),
            "unresolved_escalation": sum(1 for w in workflows if w.unresolved_escalations),
        },
    )


def _estimates(workflows: Sequence[Workflow]) -> EstimateStats | None:
    """Declared against actual duration, over the workflows that declared one."""
    estimated = [(w.estimated_s, w.duration_s) for w in workflows if w.estimated_s]
    if not estimated:
        return None
    return EstimateStats(
        workflows=len(estimated),
        avg_estimated_s=_avg([declared for declared, _ in estimated]),
        avg_actual_s=_avg([actual for _, actual in estimated]),
        avg_ratio=_avg([actual / declared for declared, actual in estimated]),
        over_estimate=sum(1 for declared, actual in estimated if actual > declared),
    )


# --- Coordination overhead -----------------------------------------------------------------------
@dataclass
class WorkflowOverhead:
    trace_id: str
    workspace_id: str | None
    coordination_s: float
    tool_s: float
    overhead_pct: float


@dataclass
class OverheadStats:
    coordination_overhead_pct: float
    coordination_s: float
    tool_s: float
    avg_coordination_minutes: float
    threshold_pct: float
    recommendation: str
    workflows: list[WorkflowOverhead]


def _pct(coordination: float, tool: float) -> float:
    total = coordination + tool
    return 100.0 * coordination / total if total > 0 else 0.0


def coordination_overhead(history: History, *, threshold_pct: float | None = None) -> OverheadStats:
    """Share of time in coordination (handoffs, escalations, bot messages) against tool execution.

    Coordination time: handoff and escalation spans, the wait from a handoff to the receiving bot's
    start, and for each coordination entry (handoff, coordination, ``bot_conversation`` message,
    escalation resolved) the time since the bot's previous activity. Tool time: top-level tool spans.
    """
    threshold = resolve(COORDINATION_OVERHEAD_PCT, threshold_pct)
    rows = [
        WorkflowOverhead(w.trace_id, w.workspace_id, w.coordination_s, w.tool_s, _pct(w.coordination_s, w.tool_s))
        for w in history.workflows
    ]
    coordination = sum(row.coordination_s for row in rows)
    tool = sum(row.tool_s for row in rows)
    pct = _pct(coordination, tool)
    return OverheadStats(
        coordination_overhead_pct=pct,
        coordination_s=coordination,
        tool_s=tool,
        avg_coordination_minutes=coordination / len(rows) / 60 if rows else 0.0,
        threshold_pct=threshold,
        recommendation=HIGH_OVERHEAD_TEXT if pct > threshold else LOW_OVERHEAD_TEXT,
        workflows=rows,
    )


# --- Bot performance trends ------------------------------------------------------------------------
@dataclass
class BotTrend:
    bot: str
    trend: str  # improving | stable | declining | insufficient_data
    recent_sessions: int
    historical_sessions: int
    recent_success_rate: float
    historical_success_rate: float
    success_rate_change: float
    recent_avg_duration_s: float
    historical_avg_duration_s: float
    duration_change_pct: float


def bot_trends(history: History, *, now_ns: int | None = None, recent_days: float = 7.0) -> list[BotTrend]:
    """Recent (last ``recent_days``) against older sessions, per bot.

    Improving or declining when the success rate moved by 10 points or more; with success flat, when
    the average duration moved by 25% or more (faster is improving). Otherwise stable.
    """
    now = now_ns if now_ns is not None else history.latest_ns
    edge = now - int(recent_days * NS_PER_DAY)
    by_bot = bot_parts(history)
    return [_bot_trend(bot, by_bot[bot], edge) for bot in sorted(by_bot)]


def _bot_trend(bot: str, sessions: Sequence[BotPart], edge: int) -> BotTrend:
    """One bot's sessions from ``edge`` on against the ones before."""
    recent = [s for s in sessions if s.start_ns >= edge]
    older = [s for s in sessions if s.start_ns < edge]
    recent_rate = _rate([s.success for s in recent])
    older_rate = _rate([s.success for s in older])
    recent_duration = _avg([s.duration_s for s in recent])
    older_duration = _avg([s.duration_s for s in older])
    both = bool(recent and older)
    change = recent_rate - older_rate if both else 0.0
    duration_change = (recent_duration - older_duration) / older_duration if both and older_duration > 0 else 0.0
    return BotTrend(
        bot=bot,
        trend=_trend_label(change, duration_change) if both else "insufficient_data",
        recent_sessions=len(recent),
        historical_sessions=len(older),
        recent_success_rate=recent_rate,
        historical_success_rate=older_rate,
        success_rate_change=change,
        recent_avg_duration_s=recent_duration,
        historical_avg_duration_s=older_duration,
        duration_change_pct=100.0 * duration_change,
    )


def _trend_label(success_change: float, duration_change: float) -> str:
    """Success first (10 points either way); with success flat, duration (25%; faster is better)."""
    if success_change >= TREND_SUCCESS_DELTA - 1e-9:
        return "improving"
    if success_change <= -TREND_SUCCESS_DELTA + 1e-9:
        return "declining"
    if duration_change <= -TREND_DURATION_DELTA + 1e-9:
        return "improving"
    if duration_change >= TREND_DURATION_DELTA - 1e-9:
        return "declining"
    return "stable"


# --- Error clustering ----------------------------------------------------------------------------
@dataclass
class ErrorCluster:
    fingerprint: str
    error_type: str
    count: int
    workspaces: list[str]
    workflows: int
    bots: list[str]
    first_seen_ns: int
    last_seen_ns: int
    sample_message: str
    #: The latest traces it happened in (newest first), to open with ``otel-worklog explain``.
    trace_ids: list[str] = field(default_factory=list)


#: How many of an error's traces a cluster keeps.
CLUSTER_TRACES: Final = 3


def _latest_traces(items: Sequence[ErrorOccurrence]) -> list[str]:
    newest = sorted(items, key=lambda e: e.time_ns, reverse=True)
    return list(dict.fromkeys(e.trace_id for e in newest))[:CLUSTER_TRACES]


def error_clusters(history: History, *, top: int = 10) -> list[ErrorCluster]:
    """Top error fingerprints: count, affected workspaces and workflows, first and last seen, a sample."""
    groups: dict[str, list[ErrorOccurrence]] = defaultdict(list)
    for error in history.errors:
        groups[error.fingerprint].append(error)
    clusters = [
        ErrorCluster(
            fingerprint=fp,
            error_type=items[0].error_type,
            count=len(items),
            workspaces=sorted({e.workspace_id for e in items if e.workspace_id is not None}),
            workflows=len({e.trace_id for e in items}),
            bots=sorted({e.bot for e in items if e.bot is not None}),
            first_seen_ns=min(e.time_ns for e in items),
            last_seen_ns=max(e.time_ns for e in items),
            sample_message=max(items, key=lambda e: e.time_ns).message[:500],
            trace_ids=_latest_traces(items),
        )
        for fp, items in groups.items()
    ]
    clusters.sort(key=lambda c: (-c.count, c.fingerprint))
    return clusters[:top]


# --- Bot comparison ------------------------------------------------------------------------------
@dataclass
class BotRow:
    bot: str
    #: Workflows the bot took part in.
    sessions: int
    success_pct: float
    first_shot_pct: float
    avg_time_s: float
    avg_tokens: float
    avg_cost: float
    #: Sessions with tokens or a cost recorded (none: the bot's usage is not known, not zero).
    sessions_with_usage: int = 0


def compare_bots(history: History, bots: Sequence[str] = ()) -> list[BotRow]:
    """Per bot (``bots``, or all when empty), over the workflows it took part in: success %, first-shot %,
    and the average time it worked, tokens and cost."""
    by_bot = bot_parts(history)
    names = list(bots) if bots else sorted(by_bot)
    rows = []
    for bot in names:
        sessions = by_bot.get(bot, [])
        rows.append(
            BotRow(
                bot=bot,
                sessions=len(sessions),
                success_pct=100.0 * _rate([s.success for s in sessions]),
                first_shot_pct=100.0 * _rate([s.first_shot for s in sessions]),
                avg_time_s=_avg([s.duration_s for s in sessions]),
                avg_tokens=_avg([float(s.tokens) for s in sessions]),
                avg_cost=_avg([s.cost for s in sessions]),
                sessions_with_usage=sum(1 for s in sessions if s.usage_recorded),
            )
        )
    return rows


def workflows_between(history: History, since_ns: int | None, until_ns: int | None = None) -> History:
    """The part of ``history`` whose workflows started in [since, until)."""
    kept: list[Workflow] = [
        w
        for w in history.workflows
        if (since_ns is None or w.start_ns >= since_ns) and (until_ns is None or w.start_ns < until_ns)
    ]
    traces = {w.trace_id for w in kept}
    return History(kept, [e for e in history.errors if e.trace_id in traces], history.span_count)
