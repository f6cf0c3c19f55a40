"""One span classifier for every view: our own spans, GenAI, OpenInference and OpenLLMetry spans.

The attribute sets below are the ones each instrumentation writes (see
/work/shared/reference/frameworks.md and semconv.md): OpenInference marks spans with
``openinference.span.kind`` and ``tool.name``, OpenLLMetry with ``traceloop.span.kind`` and
``gen_ai.tool.name``, the GenAI conventions with ``gen_ai.operation.name``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog._internal.span_kinds import (
    Kind,
    classify,
    declared_kind,
    is_escalation_or_alert,
    is_handoff_tool_name,
    may_be_bot,
    tool_name,
)
from otel_worklog.testing import WorklogCapture

OI = "openinference.span.kind"
TL = "traceloop.span.kind"


@pytest.mark.parametrize(
    ("name", "attributes", "kind"),
    [
        # GenAI semantic conventions, from any instrumentation.
        ("invoke_agent planner", {sc.GEN_AI_OPERATION_NAME: "invoke_agent"}, Kind.BOT),
        ("create_agent planner", {sc.GEN_AI_OPERATION_NAME: "create_agent"}, Kind.BOT),
        ("execute_tool search", {sc.GEN_AI_OPERATION_NAME: "execute_tool", sc.GEN_AI_TOOL_NAME: "search"}, Kind.TOOL),
        ("chat gpt-4o", {sc.GEN_AI_OPERATION_NAME: "chat"}, Kind.LLM),
        ("text_completion m", {sc.GEN_AI_OPERATION_NAME: "text_completion"}, Kind.LLM),
        ("generate_content gemini", {sc.GEN_AI_OPERATION_NAME: "generate_content"}, Kind.LLM),
        ("embeddings e", {sc.GEN_AI_OPERATION_NAME: "embeddings"}, Kind.LLM),
        # OpenInference (Phoenix, Arize): upper-case kinds, the tool's name in tool.name.
        ("Agent run", {OI: "AGENT"}, Kind.BOT),
        ("search_web", {OI: "TOOL", "tool.name": "search_web"}, Kind.TOOL),
        ("ChatOpenAI", {OI: "LLM"}, Kind.LLM),
        ("RunnableSequence", {OI: "CHAIN"}, Kind.OTHER),
        ("retrieve", {OI: "RETRIEVER"}, Kind.OTHER),
        # OpenLLMetry (traceloop): lower-case kinds, the tool's name in gen_ai.tool.name.
        ("researcher.agent", {TL: "agent"}, Kind.BOT),
        ("lookup.tool", {TL: "tool", sc.GEN_AI_TOOL_NAME: "lookup"}, Kind.TOOL),
        ("pipeline.workflow", {TL: "workflow"}, Kind.OTHER),
        ("step.task", {TL: "task"}, Kind.OTHER),
        # A tool whose call hands the work to another agent is a handoff, in every convention.
        ("transfer_to_billing", {OI: "TOOL", "tool.name": "transfer_to_billing"}, Kind.HANDOFF),
        ("handoff to Billing", {OI: "TOOL", "tool.name": "handoff to Billing"}, Kind.HANDOFF),
        ("execute_tool transfer_to_x", {sc.GEN_AI_OPERATION_NAME: "execute_tool"}, Kind.HANDOFF),
        ("t", {TL: "tool", sc.GEN_AI_TOOL_NAME: "handoff_to_support"}, Kind.HANDOFF),
        # Names alone, for spans that carry no convention attribute.
        ("invoke_agent x", {}, Kind.BOT),
        ("execute_tool y", {}, Kind.TOOL),
        ("GET /api", {"http.request.method": "GET"}, Kind.OTHER),
        ("", {}, Kind.OTHER),
        # Values of the wrong type are ignored, never raise.
        ("x", {sc.GEN_AI_OPERATION_NAME: ["chat"], OI: 3, TL: None}, Kind.OTHER),
        ("x", {sc.GEN_AI_OPERATION_NAME: "rerank", OI: "TOOL"}, Kind.TOOL),
    ],
)
def test_classify_conventions(name: str, attributes: dict[str, Any], kind: Kind) -> None:
    assert classify(name, attributes) is kind


@pytest.mark.parametrize(
    ("name", "attributes", "kind"),
    [
        # Our own markers win over any convention on the same span.
        ("escalation", {sc.WORKLOG_ESCALATION: True, sc.GEN_AI_OPERATION_NAME: "execute_tool"}, Kind.ESCALATION),
        ("alert tool_loop", {sc.WORKLOG_ALERT_KIND: "tool_loop", OI: "AGENT"}, Kind.ALERT),
        ("handoff a -> b", {sc.WORKLOG_HANDOFF_TO: "b", sc.GEN_AI_OPERATION_NAME: "invoke_agent"}, Kind.HANDOFF),
        ("workspace #w", {sc.WORKSPACE_TYPE: "project", sc.GEN_AI_OPERATION_NAME: "chat"}, Kind.WORKSPACE),
        # ...but only when they say what they mean.
        ("escalation", {sc.WORKLOG_ESCALATION: "yes"}, Kind.OTHER),
        ("not a workspace", {sc.WORKSPACE_TYPE: "project"}, Kind.OTHER),
    ],
)
def test_our_markers_come_first(name: str, attributes: dict[str, Any], kind: Kind) -> None:
    assert classify(name, attributes) is kind


def test_tool_name_in_any_convention() -> None:
    assert tool_name("execute_tool search", {sc.GEN_AI_TOOL_NAME: "lookup"}) == "lookup"
    assert tool_name("search_web", {"tool.name": "search_web"}) == "search_web"
    assert tool_name("execute_tool search", {}) == "search"
    assert tool_name("execute_tool search", {sc.GEN_AI_TOOL_NAME: "", "tool.name": 7}) == "search"
    assert is_handoff_tool_name("transfer_to_billing") and not is_handoff_tool_name("transfer_funds")


def test_the_spans_we_record_classify_as_what_they_are(worklog: WorklogCapture) -> None:
    @wl.tool
    def search(query: str) -> str:
        return query

    with wl.workspace("#kinds", type="project", participants=["a", "b"]):
        with wl.bot("a"):
            search("q")
            wl.handoff("b", reason="yours")
            wl.escalate("need a human")
        with wl.bot("b"):
            pass
    kinds = {span.name: classify(span.name, span.attributes or {}) for span in worklog.spans()}
    assert kinds == {
        "workspace #kinds": Kind.WORKSPACE,
        "invoke_agent a": Kind.BOT,
        "invoke_agent b": Kind.BOT,
        next(n for n in kinds if n.startswith("execute_tool")): Kind.TOOL,
        next(n for n in kinds if n.startswith("handoff")): Kind.HANDOFF,
        "escalation": Kind.ESCALATION,
    }


def test_alert_spans_classify_as_alerts(worklog: WorklogCapture) -> None:
    worklog.configure(detectors={"tool_loop": {"threshold": 2}})

    @wl.tool
    def poll() -> None:
        pass

    with wl.workspace("#alerts"), wl.bot("a"):
        for _ in range(3):
            poll()
    wl.force_flush()
    alerts = [s for s in worklog.spans() if s.name.startswith("alert ")]
    assert alerts, [s.name for s in worklog.spans()]
    assert {classify(s.name, s.attributes or {}) for s in alerts} == {Kind.ALERT}


_KEYS = st.sampled_from(
    [
        sc.GEN_AI_OPERATION_NAME,
        OI,
        TL,
        sc.GEN_AI_TOOL_NAME,
        "tool.name",
        sc.WORKLOG_DUPLICATE_OF,
        sc.WORKLOG_ESCALATION,
        sc.WORKLOG_ALERT_KIND,
        sc.WORKLOG_HANDOFF_TO,
        sc.WORKSPACE_TYPE,
    ]
)
_VALUES = st.sampled_from(
    [
        *("invoke_agent", "create_agent", "execute_tool", "chat", "rerank", "AGENT", "TOOL", "LLM", "agent", "tool"),
        *("transfer_to_billing", "lookup", "", True, "yes", 3, None, ["chat"]),
    ]
)
_NAMES = st.sampled_from(["invoke_agent a", "execute_tool t", "execute_tool transfer_to_x", "workspace #w", "x", ""])


@settings(max_examples=500, deadline=None, database=None, derandomize=True)
@given(name=_NAMES, attributes=st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_the_hot_path_shortcuts_agree_with_classify(name: str, attributes: dict[str, Any]) -> None:
    """The detectors and the sampler skip classifying spans by these shortcuts: they must never disagree."""
    kind = classify(name, attributes)
    assert is_escalation_or_alert(name, attributes) is (kind is Kind.ESCALATION or kind is Kind.ALERT)
    declared = declared_kind(attributes)
    if declared is not None:  # a declared bot, tool or model call is that, or one of our markers' kinds
        assert kind in {declared, Kind.HANDOFF, Kind.OTHER, Kind.ESCALATION, Kind.ALERT, Kind.WORKSPACE}
    if kind is Kind.BOT:  # the pipeline and the insight processor skip spans that cannot be agents
        assert may_be_bot(name, attributes)
