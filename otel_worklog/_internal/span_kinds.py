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
    "ALERT",
    "BOT",
    "CONTROL_FLOW_EXCEPTIONS",
    "ESCALATION",
    "HANDOFF",
    "LLM",
    "OPENINFERENCE_SPAN_KIND",
    "OTHER",
    "TOOL",
    "TRACELOOP_SPAN_KIND",
    "WORKSPACE",
    "Kind",
    "classify",
    "counts_usage",
    "declared_kind",
    "is_control_flow",
    "is_duplicate",
    "is_escalation_or_alert",
    "is_failure",
    "is_handoff_tool_name",
    "may_be_bot",
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


# The kinds as plain module globals, for code that compares kinds on every span: ``Kind.BOT`` is an
# enum attribute lookup, slower than reading a global. ``kind is BOT`` is ``kind is Kind.BOT``.
WORKSPACE: Final = Kind.WORKSPACE
BOT: Final = Kind.BOT
TOOL: Final = Kind.TOOL
HANDOFF: Final = Kind.HANDOFF
ESCALATION: Final = Kind.ESCALATION
ALERT: Final = Kind.ALERT
LLM: Final = Kind.LLM
OTHER: Final = Kind.OTHER


#: OpenInference's span-kind attribute (AGENT, TOOL, LLM, CHAIN, ...).
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
#: OpenLLMetry's span-kind attribute (agent, tool, workflow, task).
TRACELOOP_SPAN_KIND: Final = "traceloop.span.kind"

_GEN_AI_OPERATIONS: Final[Mapping[Any, Kind]] = {  # looked up with whatever value a span holds
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
_BOT_PREFIX: Final = sc.SPAN_INVOKE_AGENT.split("{", 1)[0]
_TOOL_PREFIX: Final = sc.SPAN_EXECUTE_TOOL.split("{", 1)[0]
_WORKSPACE_PREFIX: Final = sc.SPAN_WORKSPACE.split("{", 1)[0]
#: Tool names frameworks give the tools that hand work to another agent.
_HANDOFF_TOOL_PREFIXES: Final = ("transfer_to_", "handoff to ", "handoff_to_")
#: Tool-name attributes, most specific first (GenAI, then OpenInference).
_TOOL_NAME_KEYS: Final = (sc.GEN_AI_TOOL_NAME, "tool.name")
# The keys read on every span, as plain module globals (a global is cheaper than a module attribute).
_DUPLICATE_KEY: Final = sc.WORKLOG_DUPLICATE_OF
_ESCALATION_KEY: Final = sc.WORKLOG_ESCALATION
_ALERT_KEY: Final = sc.WORKLOG_ALERT_KIND
_HANDOFF_KEY: Final = sc.WORKLOG_HANDOFF_TO
_WORKSPACE_TYPE_KEY: Final = sc.WORKSPACE_TYPE
_OPERATION_KEY: Final = sc.GEN_AI_OPERATION_NAME
_GEN_AI_TOOL_NAME_KEY: Final = sc.GEN_AI_TOOL_NAME


def is_handoff_tool_name(name: str) -> bool:
    """True for ``transfer_to_billing`` and the like: a tool whose call is a handoff."""
    return name.startswith(_HANDOFF_TOOL_PREFIXES)


def tool_name(name: str, attributes: Mapping[str, Any]) -> str:
    """The tool's name as any convention records it, else what follows ``execute_tool`` in the span name."""
    for key in _TOOL_NAME_KEYS:
        value = attributes.get(key)
        if isinstance(value, str) and value:
            return value
    return name.removeprefix(_TOOL_PREFIX)


def classify(name: str, attributes: Mapping[str, Any]) -> Kind:
    """The kind of the span called ``name`` with these ``attributes``.

    Our own markers (escalation, alert, handoff, workspace) come first, then the conventions
    (GenAI, OpenInference, OpenLLMetry), then the span name; a tool that hands work over is a handoff.
    """
    if _DUPLICATE_KEY in attributes:
        return OTHER  # another span already records this agent turn, tool call or handoff
    if _ESCALATION_KEY in attributes and attributes[_ESCALATION_KEY] is True:
        return ESCALATION
    if _ALERT_KEY in attributes:
        return ALERT
    if _HANDOFF_KEY in attributes:
        return HANDOFF
    if _WORKSPACE_TYPE_KEY in attributes and name.startswith(_WORKSPACE_PREFIX):
        return WORKSPACE
    try:
        kind = _GEN_AI_OPERATIONS.get(attributes.get(_OPERATION_KEY))
    except TypeError:  # an unhashable value (a list): no operation we know
        kind = None
    if kind is None:
        if OPENINFERENCE_SPAN_KIND in attributes or TRACELOOP_SPAN_KIND in attributes:
            kind = _by_other_convention(attributes)
        if kind is None:
            if name.startswith(_BOT_PREFIX):
                return BOT
            if not name.startswith(_TOOL_PREFIX):
                return OTHER
            kind = TOOL
    if kind is TOOL:
        tool = attributes.get(_GEN_AI_TOOL_NAME_KEY)  # the common case, without a call
        if not isinstance(tool, str) or not tool:
            tool = tool_name(name, attributes)
        if tool.startswith(_HANDOFF_TOOL_PREFIXES):
            return HANDOFF
    return kind


def may_be_bot(name: str, attributes: Mapping[str, Any]) -> bool:
    """False only for a span :func:`classify` never calls a bot: a test cheaper than classifying, for hot
    paths that look for agents among every other span."""
    operation = attributes.get(_OPERATION_KEY)
    if isinstance(operation, str):
        declared = _GEN_AI_OPERATIONS.get(operation)
        if declared is not None:
            return declared is BOT  # classify goes by a known operation first, and no marker makes a bot
    return name.startswith(_BOT_PREFIX) or OPENINFERENCE_SPAN_KIND in attributes or TRACELOOP_SPAN_KIND in attributes


def declared_kind(attributes: Mapping[str, Any]) -> Kind | None:
    """The kind a span's ``gen_ai.operation.name`` declares (bot, tool or LLM call), None without one we know.

    For hot paths that look for one kind: :func:`classify` never makes a bot of a span declared a tool or
    an LLM call, nor a tool of a declared bot (our markers only turn a span into a workspace, an
    escalation, an alert, a handoff or other), so such a span needs no classifying.
    """
    operation = attributes.get(_OPERATION_KEY)
    return _GEN_AI_OPERATIONS.get(operation) if type(operation) is str else None


def is_escalation_or_alert(name: str, attributes: Mapping[str, Any]) -> bool:
    """Whether :func:`classify` says escalation or alert: the spans no sampler may drop.

    Both carry their marker from creation, so any other span is told apart with two lookups (a sampler
    asks at every span start).
    """
    if _ESCALATION_KEY not in attributes and _ALERT_KEY not in attributes:
        return False
    kind = classify(name, attributes)
    return kind is ESCALATION or kind is ALERT


def _by_other_convention(attributes: Mapping[str, Any]) -> Kind | None:
    """The kind an OpenInference or OpenLLMetry span declares, if it declares one we know."""
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
