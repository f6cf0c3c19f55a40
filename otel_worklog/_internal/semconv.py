"""Every attribute, event and span name otel_worklog writes, in one place.

The collector config, the Grafana dashboards, the Prometheus rules, the store's
indexes and the CLI all key on these strings, and a test checks each of them
against this module. ``gen_ai.*`` names are reused from the OpenTelemetry GenAI
semantic conventions wherever those conventions have one.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BOT_NAME",
    "BOT_ROLE",
    "BOT_TRIGGERED_BY",
    "CATEGORY_BOT_CONVERSATION",
    "CATEGORY_ESCALATION",
    "CATEGORY_GENERAL",
    "CATEGORY_HANDOFF",
    "CATEGORY_INSIGHT",
    "ERROR_TYPE",
    "ESCALATION_SPAN_NAME",
    "EVENT_ESCALATION_RESOLVED",
    "EVENT_INSIGHT",
    "EVENT_PREFIX",
    "GEN_AI_AGENT_DESCRIPTION",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_TOOL_CALL_ARGUMENTS",
    "GEN_AI_TOOL_CALL_ID",
    "GEN_AI_TOOL_CALL_RESULT",
    "GEN_AI_TOOL_DESCRIPTION",
    "GEN_AI_TOOL_NAME",
    "GEN_AI_TOOL_TYPE",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "GEN_AI_WORKFLOW_NAME",
    "INSIGHT_CATEGORIES",
    "INSIGHT_SCOPES",
    "INSIGHT_SHAREABLE_CONFIDENCE",
    "INSTRUMENTATION_SCOPE",
    "LEVELS",
    "LINK_TYPE_HANDOFF",
    "OPERATION_EXECUTE_TOOL",
    "OPERATION_INVOKE_AGENT",
    "OPERATION_INVOKE_WORKFLOW",
    "SAMPLED_LEVELS",
    "SPAN_ALERT",
    "SPAN_CONTINUATION",
    "SPAN_EXECUTE_TOOL",
    "SPAN_HANDOFF",
    "SPAN_INVOKE_AGENT",
    "SPAN_INVOKE_WORKFLOW",
    "SPAN_WORKSPACE",
    "TOOL_STATUS_CANCELLED",
    "TOOL_STATUS_ERROR",
    "TOOL_STATUS_SUCCESS",
    "TOOL_TYPE_EXTENSION",
    "TOOL_TYPE_FUNCTION",
    "WORKLOG_ALERT_EVIDENCE",
    "WORKLOG_ALERT_KIND",
    "WORKLOG_ALERT_RECOMMENDATION",
    "WORKLOG_CATEGORY",
    "WORKLOG_CONFIDENCE",
    "WORKLOG_CONFIDENCE_INVALID",
    "WORKLOG_CONTINUATION",
    "WORKLOG_COST",
    "WORKLOG_DETAILS_DROPPED",
    "WORKLOG_DETAILS_PREFIX",
    "WORKLOG_DUPLICATE_OF",
    "WORKLOG_ESCALATION",
    "WORKLOG_ESCALATION_REASON",
    "WORKLOG_ESCALATION_RESOLUTION",
    "WORKLOG_ESCALATION_SPAN_ID",
    "WORKLOG_ESCALATION_TARGET",
    "WORKLOG_FLAGGED_FROM",
    "WORKLOG_FRAMEWORK",
    "WORKLOG_HANDOFF_ARTIFACTS",
    "WORKLOG_HANDOFF_FROM",
    "WORKLOG_HANDOFF_INVALID",
    "WORKLOG_HANDOFF_REASON",
    "WORKLOG_HANDOFF_TO",
    "WORKLOG_INSIGHT_APPLIES_TO",
    "WORKLOG_INSIGHT_CATEGORY",
    "WORKLOG_INSIGHT_SCOPE",
    "WORKLOG_INSIGHT_SHAREABLE",
    "WORKLOG_LEVEL",
    "WORKLOG_LEVEL_INVALID",
    "WORKLOG_LINK_TYPE",
    "WORKLOG_LOW_CONFIDENCE",
    "WORKLOG_MENTIONS",
    "WORKLOG_MESSAGE",
    "WORKLOG_QUERY",
    "WORKLOG_REDACTED_COUNT",
    "WORKLOG_RESPONSE_TO",
    "WORKLOG_STEP",
    "WORKLOG_STEP_EPOCH",
    "WORKLOG_TOOL_STATUS",
    "WORKLOG_TRUNCATED",
    "WORKSPACE_COORDINATOR",
    "WORKSPACE_ESTIMATED_DURATION_S",
    "WORKSPACE_ID",
    "WORKSPACE_ID_INVALID",
    "WORKSPACE_PARTICIPANTS",
    "WORKSPACE_TYPE",
    "WORKSPACE_TYPES",
    "event_name",
    "prometheus_label",
]

# --- Workspace (the session every bot works in) ------------------------------
WORKSPACE_ID: Final = "workspace.id"
WORKSPACE_TYPE: Final = "workspace.type"
WORKSPACE_PARTICIPANTS: Final = "workspace.participants"
WORKSPACE_COORDINATOR: Final = "workspace.coordinator"
WORKSPACE_ESTIMATED_DURATION_S: Final = "workspace.estimated_duration_s"
WORKSPACE_ID_INVALID: Final = "workspace.id.invalid"
WORKLOG_QUERY: Final = "worklog.query"

WORKSPACE_TYPES: Final = ("open", "project", "direct", "coordination")

# --- Bot ---------------------------------------------------------------------
BOT_NAME: Final = "bot.name"
BOT_ROLE: Final = "bot.role"
BOT_TRIGGERED_BY: Final = "bot.triggered_by"

# --- GenAI semantic conventions (reused names) ------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_DESCRIPTION: Final = "gen_ai.agent.description"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
ERROR_TYPE: Final = "error.type"

OPERATION_INVOKE_AGENT: Final = "invoke_agent"
OPERATION_EXECUTE_TOOL: Final = "execute_tool"
OPERATION_INVOKE_WORKFLOW: Final = "invoke_workflow"
#: ``gen_ai.tool.type`` values: a function of the app's own, or one an extension (an MCP server) runs.
TOOL_TYPE_FUNCTION: Final = "function"
TOOL_TYPE_EXTENSION: Final = "extension"

# --- Work-log entries (span events) ------------------------------------------
WORKLOG_LEVEL: Final = "worklog.level"
WORKLOG_CATEGORY: Final = "worklog.category"
WORKLOG_MESSAGE: Final = "worklog.message"
WORKLOG_STEP: Final = "worklog.step"
#: Which count a span's entry steps belong to: absent where the workspace was opened, and a random id on
#: the spans of a handoff's receiver that continues the count in another process (or without the workspace).
WORKLOG_STEP_EPOCH: Final = "worklog.step_epoch"
WORKLOG_CONFIDENCE: Final = "worklog.confidence"
WORKLOG_CONFIDENCE_INVALID: Final = "worklog.confidence.invalid"
WORKLOG_LEVEL_INVALID: Final = "worklog.level.invalid"
WORKLOG_DETAILS_PREFIX: Final = "worklog.details."
WORKLOG_MENTIONS: Final = "worklog.mentions"
WORKLOG_RESPONSE_TO: Final = "worklog.response_to"
WORKLOG_LOW_CONFIDENCE: Final = "worklog.low_confidence"
WORKLOG_FLAGGED_FROM: Final = "worklog.flagged_from"
WORKLOG_REDACTED_COUNT: Final = "worklog.redacted_count"
WORKLOG_TRUNCATED: Final = "worklog.truncated"
#: Detail keys left out of an entry so that its core attributes fit the event attribute limit.
WORKLOG_DETAILS_DROPPED: Final = "worklog.details_dropped"
#: On a span that holds the entries past its parent's event limit: 1 for the first such span, then 2...
WORKLOG_CONTINUATION: Final = "worklog.continuation"
WORKLOG_COST: Final = "worklog.cost"

EVENT_PREFIX: Final = "worklog."
LEVELS: Final = (
    "info",
    "thinking",
    "decision",
    "correction",
    "uncertainty",
    "warning",
    "error",
    "handoff",
    "coordination",
)
#: Levels thinned by ``info_sample_rate``; every other level is always kept.
SAMPLED_LEVELS: Final = ("info", "thinking")
CATEGORY_GENERAL: Final = "general"
CATEGORY_BOT_CONVERSATION: Final = "bot_conversation"
CATEGORY_ESCALATION: Final = "escalation"
CATEGORY_HANDOFF: Final = "handoff"
CATEGORY_INSIGHT: Final = "insight"

# --- Tools -------------------------------------------------------------------
WORKLOG_TOOL_STATUS: Final = "worklog.tool.status"
TOOL_STATUS_SUCCESS: Final = "success"
TOOL_STATUS_ERROR: Final = "error"
TOOL_STATUS_CANCELLED: Final = "cancelled"

# --- Escalations -------------------------------------------------------------
WORKLOG_ESCALATION: Final = "worklog.escalation"
WORKLOG_ESCALATION_REASON: Final = "worklog.escalation.reason"
WORKLOG_ESCALATION_TARGET: Final = "worklog.escalation.target"
WORKLOG_ESCALATION_SPAN_ID: Final = "worklog.escalation.span_id"
WORKLOG_ESCALATION_RESOLUTION: Final = "worklog.escalation.resolution"
ESCALATION_SPAN_NAME: Final = "escalation"
EVENT_ESCALATION_RESOLVED: Final = "worklog.escalation_resolved"

# --- Handoffs and links ------------------------------------------------------
WORKLOG_HANDOFF_FROM: Final = "worklog.handoff.from"
WORKLOG_HANDOFF_TO: Final = "worklog.handoff.to"
WORKLOG_HANDOFF_ARTIFACTS: Final = "worklog.handoff.artifacts"
WORKLOG_HANDOFF_REASON: Final = "worklog.handoff.reason"
WORKLOG_HANDOFF_INVALID: Final = "worklog.handoff.invalid"
WORKLOG_LINK_TYPE: Final = "worklog.link.type"
LINK_TYPE_HANDOFF: Final = "handoff"

# --- Agent frameworks and the instrumentations beside them --------------------
#: The framework whose events a span was recorded from (``openai-agents``, ``langgraph``, ``pydantic-ai``).
WORKLOG_FRAMEWORK: Final = "worklog.framework"
#: Span id (hex) of the span that already records the same agent turn, tool call, handoff or model usage:
#: a span carrying it (another instrumentation's copy, or ``@wl.tool`` inside a framework tool) counts once.
WORKLOG_DUPLICATE_OF: Final = "worklog.duplicate_of"

# --- Insights (the Learning Exchange) ----------------------------------------
EVENT_INSIGHT: Final = "worklog.insight"
WORKLOG_INSIGHT_CATEGORY: Final = "worklog.insight.category"
WORKLOG_INSIGHT_SCOPE: Final = "worklog.insight.scope"
WORKLOG_INSIGHT_SHAREABLE: Final = "worklog.insight.shareable"
WORKLOG_INSIGHT_APPLIES_TO: Final = "worklog.insight.applies_to"
INSIGHT_SCOPES: Final = ("general", "project", "team", "bot_specific")
#: The eight Learning Exchange categories.
INSIGHT_CATEGORIES: Final = (
    "user_preference",
    "tool_pattern",
    "research_finding",
    "error_solution",
    "workflow_optimization",
    "domain_knowledge",
    "communication_style",
    "performance_insight",
)
INSIGHT_SHAREABLE_CONFIDENCE: Final = 0.85

# --- Live detector alerts ----------------------------------------------------
WORKLOG_ALERT_KIND: Final = "worklog.alert.kind"
WORKLOG_ALERT_RECOMMENDATION: Final = "worklog.alert.recommendation"
WORKLOG_ALERT_EVIDENCE: Final = "worklog.alert.evidence"

# --- Span names --------------------------------------------------------------
SPAN_WORKSPACE: Final = "workspace {workspace_id}"
SPAN_INVOKE_AGENT: Final = "invoke_agent {name}"
SPAN_EXECUTE_TOOL: Final = "execute_tool {name}"
#: A framework run outside any workspace or bot: the root that keeps its agents in one trace.
SPAN_INVOKE_WORKFLOW: Final = "invoke_workflow {name}"
SPAN_HANDOFF: Final = "handoff {from_bot} -> {to_bot}"
SPAN_ALERT: Final = "alert {kind}"
#: Holds the entries past the event limit of the span ``name``; named so no view counts it as a bot or tool.
SPAN_CONTINUATION: Final = "continued: {name}"

#: The instrumentation scope every otel_worklog span is created under.
INSTRUMENTATION_SCOPE: Final = "otel_worklog"


def event_name(level: str) -> str:
    """Span event name of a work-log entry at ``level`` (``worklog.decision``)."""
    return EVENT_PREFIX + level


def prometheus_label(attribute: str) -> str:
    """The label Prometheus gives an attribute (``workspace.id`` -> ``workspace_id``)."""
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in attribute)
