"""What a span is, decided in one place, whoever recorded it.

otel_worklog's own spans, spans that follow the OpenTelemetry GenAI conventions
(``gen_ai.operation.name``), OpenInference spans (``openinference.span.kind``) and OpenLLMetry spans
(``traceloop.span.kind``) all describe agents, tools and model calls. The detectors, the insight
processor, the store's session summary, the read models and the analytics all ask :func:`classify`,
so one tool call is one tool call in every view, whichever instrumentation recorded it.

It runs on every span that ends, so it reads a handful of attributes and never allocates.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from otel_worklog._internal import semconv as sc

__all__ = [
    "CONTROL_FLOW_EXCEPTIONS",
    "OPENINFERENCE_SPAN_KIND",
    "TRACELOOP_SPAN_KIND",
    "Kind",
    "classify",
    "counts_usage",
    "is_control_flow",
    "is_duplicate",
    "is_failure",
    "is_handoff_tool_name",
    "tool_name",
]


class Kind(StrEnum):
    """The part a span plays in a work log."""

    WORKSPACE = "workspace"
    BOT = "bot"
    TOOL = "tool"
    HANDOFF = "handoff"
    ESCALATION = "escalation"
    ALERT = "alert"
    LLM = "llm"
    OTHER = "other"


#: OpenInference's span-kind attribute (AGENT, TOOL, LLM, CHAIN, ...).
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
#: OpenLLMetry's span-kind attribute (agent, tool, workflow, task).
TRACELOOP_SPAN_KIND: Final = "traceloop.span.kind"

_GEN_AI_OPERATIONS: Final[Mapping[str, Kind]] = {
    sc.OPERATION_INVOKE_AGENT: Kind.BOT,
    "create_agent": Kind.BOT,
    sc.OPERATION_EXECUTE_TOOL: Kind.TOOL,
    "chat": Kind.LLM,
    "text_completion": Kind.LLM,
    "generate_content": Kind.LLM,
    "embeddings": Kind.LLM,
}
_OPENINFERENCE: Final[Mapping[str, Kind]] = {"AGENT": Kind.BOT, "TOOL": Kind.TOOL, "LLM": Kind.LLM}
_TRACELOOP: Final[Mapping[str, Kind]] = {"agent": Kind.BOT, "tool": Kind.TOOL}
_NAME_PREFIXES: Final = (
    (sc.SPAN_INVOKE_AGENT.split("{", 1)[0], Kind.BOT),
    (sc.SPAN_EXECUTE_TOOL.split("{", 1)[0], Kind.TOOL),
    (sc.SPAN_WORKSPACE.split("{", 1)[0], Kind.WORKSPACE),
)
#: Tool names frameworks give the tools that hand work to another agent.
_HANDOFF_TOOL_PREFIXES: Final = ("transfer_to_", "handoff to ", "handoff_to_")
#: Tool-name attributes, most specific first (GenAI, then OpenInference).
_TOOL_NAME_KEYS: Final = (sc.GEN_AI_TOOL_NAME, "tool.name")


def is_handoff_tool_name(name: str) -> bool:
    """True for ``transfer_to_billing`` and the like: a tool whose call is a handoff."""
    return name.startswith(_HANDOFF_TOOL_PREFIXES)


def tool_name(name: str, attributes: Mapping[str, Any]) -> str:
    """The tool's name as any convention records it, else what follows ``execute_tool`` in the span name."""
    for key in _TOOL_NAME_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return name.removeprefix(sc.SPAN_EXECUTE_TOOL.split("{", 1)[0])


def classify(name: str, attributes: Mapping[str, Any]) -> Kind:
    """The kind of the span called ``name`` with these ``attributes``."""
    if sc.WORKLOG_DUPLICATE_OF in attributes:
        return Kind.OTHER  # another span already records this agent turn, tool call or handoff
    if attributes.get(sc.WORKLOG_ESCALATION) is True:
        return Kind.ESCALATION
    if sc.WORKLOG_ALERT_KIND in attributes:
        return Kind.ALERT
    if sc.WORKLOG_HANDOFF_TO in attributes:
        return Kind.HANDOFF
    if sc.WORKSPACE_TYPE in attributes and name.startswith(_NAME_PREFIXES[2][0]):
        return Kind.WORKSPACE
    kind = _by_convention(attributes)
    if kind is None:
        for prefix, by_name in _NAME_PREFIXES[:2]:
            if name.startswith(prefix):
                kind = by_name
                break
        else:
            return Kind.OTHER
    if kind is Kind.TOOL and is_handoff_tool_name(tool_name(name, attributes)):
        return Kind.HANDOFF
    return kind


def _by_convention(attributes: Mapping[str, Any]) -> Kind | None:
    operation = attributes.get(sc.GEN_AI_OPERATION_NAME)
    if operation is not None:
        found = _GEN_AI_OPERATIONS.get(operation) if isinstance(operation, str) else None
        if found is not None:
            return found
    openinference = attributes.get(OPENINFERENCE_SPAN_KIND)
    if openinference is not None:
        found = _OPENINFERENCE.get(openinference) if isinstance(openinference, str) else None
        if found is not None:
            return found
    traceloop = attributes.get(TRACELOOP_SPAN_KIND)
    if traceloop is not None and isinstance(traceloop, str):
        return _TRACELOOP.get(traceloop)
    return None


#: Exceptions frameworks raise to steer their own control flow, never a failure: LangGraph's handoff
#: (``ParentCommand``) and interrupts, pydantic-ai's deferred and approval-gated tool calls.
CONTROL_FLOW_EXCEPTIONS: Final = frozenset(
    {"ParentCommand", "GraphBubbleUp", "GraphInterrupt", "NodeInterrupt", "CallDeferred", "ApprovalRequired"}
)


def is_duplicate(attributes: Mapping[str, Any]) -> bool:
    """True for a span that another span already records (see ``worklog.duplicate_of``): count it never."""
    return sc.WORKLOG_DUPLICATE_OF in attributes


def counts_usage(attributes: Mapping[str, Any]) -> bool:
    """Whether this span's ``gen_ai.usage.*`` adds to a session's tokens (a duplicate's usage is counted elsewhere)."""
    return sc.WORKLOG_DUPLICATE_OF not in attributes


def is_control_flow(exception_type: str | None) -> bool:
    """True for ``ParentCommand``, ``langgraph.errors.GraphInterrupt`` and the like: steering, not a failure."""
    if not exception_type:
        return False
    return exception_type.rsplit(".", 1)[-1] in CONTROL_FLOW_EXCEPTIONS


def is_failure(status_is_error: bool, attributes: Mapping[str, Any], exception_type: str | None = None) -> bool:
    """Whether a span counts as one failure: failed, not a duplicate, and not failed by framework control flow.

    ``exception_type`` is the ``exception.type`` of the span's exception event, when the caller has it;
    ``error.type`` is read from ``attributes``.
    """
    if not status_is_error or sc.WORKLOG_DUPLICATE_OF in attributes:
        return False
    error_type = attributes.get(sc.ERROR_TYPE)
    if isinstance(error_type, str) and is_control_flow(error_type):
        return False
    return not is_control_flow(exception_type)
