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
    "OPENINFERENCE_SPAN_KIND",
    "TRACELOOP_SPAN_KIND",
    "Kind",
    "classify",
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
