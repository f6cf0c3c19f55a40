"""LangGraph: a supervisor (triage) hands work to billing (a tool that succeeds) and tech (a tool that raises).

Built with ``langgraph_supervisor`` and LangChain's own fake chat model (``GenericFakeChatModel``): no LLM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.span_kinds import Kind
from otel_worklog.integrations import langgraph as wl_langgraph
from tests.cli.scenario import REPO
from tests.integrations.conftest import (
    ORDERS,
    PEERS,
    Recording,
    assert_agent_failed,
    assert_nothing_current,
    assert_truncated_like_wl_tool,
    assert_usage_is_analysed,
    explained_support_session,
    recording_into,
    require,
    separate_provider,
)

require("langgraph", "langgraph")
require("langgraph_supervisor", "langgraph")
from typing import Annotated  # noqa: E402

from langchain_core.callbacks import CallbackManagerForLLMRun  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage  # noqa: E402
from langchain_core.outputs import ChatResult  # noqa: E402
from langchain_core.tools import BaseTool, InjectedToolCallId, StructuredTool, tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.graph import START, MessagesState, StateGraph  # noqa: E402
from langgraph.prebuilt import InjectedState, ToolNode  # noqa: E402
from langgraph.types import Command, interrupt  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from tests.integrations.langgraph_app import (  # noqa: E402
    MODEL,
    TURNS,
    USAGE,
    FakeChat,
    create_react_agent,
    lookup_invoice,
    run,
    say,
    two_runs,
)

# Each call of create_react_agent warns that it moved to langchain.agents.create_agent. The app keeps it:
# langgraph_supervisor (0.0.31) builds its supervisor with create_react_agent itself, so the warning would come
# anyway, and create_agent is in the separate `langchain` package, which the langgraph extra does not install.
pytestmark = pytest.mark.filterwarnings(
    "ignore:create_react_agent has been moved:langgraph.warnings.LangGraphDeprecatedSinceV10"
)


def hand_over(triage: Any, billing: Any) -> None:
    """The app's own graph: ``triage_agent`` (which hands over to billing) and ``billing_agent``, run once."""
    graph = StateGraph(MessagesState)
    graph.add_node("triage_agent", triage, destinations=("billing_agent",))
    graph.add_node("billing_agent", billing)
    graph.add_edge(START, "triage_agent")
    question: Any = {"messages": [("user", "help")]}
    with wl.workspace("#support"):
        graph.compile().invoke(question)


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    wl_langgraph.instrument()
    try:
        yield
    finally:
        wl_langgraph.uninstrument()


class TestSupportApp:
    def test_agents_handoffs_and_tools_are_recorded(self, recording: Recording) -> None:
        two_runs()
        assert_nothing_current()
        workspace = recording.one("workspace #support")
        assert workspace.parent is None
        assert recording.bots() == TURNS  # the supervisor takes the work back after each worker
        billing = recording.one("invoke_agent billing_agent")
        tech = recording.one("invoke_agent tech_agent")
        to_billing = recording.one("handoff triage_agent -> billing_agent")
        to_tech = recording.one("handoff triage_agent -> tech_agent")
        lookup = recording.one("execute_tool lookup_invoice")
        restart = recording.one("execute_tool restart_router")
        by_id = recording.by_id()
        for agent in recording.counted(Kind.BOT):
            assert agent.parent is not None and agent.parent.span_id == workspace.context.span_id
        for handoff in (to_billing, to_tech):
            assert handoff.parent is not None
            assert recording.attrs(by_id[handoff.parent.span_id])[sc.BOT_NAME] == "triage_agent"
        assert lookup.parent is not None and lookup.parent.span_id == billing.context.span_id
        assert restart.parent is not None and restart.parent.span_id == tech.context.span_id
        for receiver, handoff in ((billing, to_billing), (tech, to_tech)):
            (link,) = receiver.links
            assert link.context.span_id == handoff.context.span_id
            assert dict(link.attributes or {}) == {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF}
            assert recording.attrs(receiver)[sc.BOT_TRIGGERED_BY] == "triage_agent"
        for span in recording.spans():
            attrs = recording.attrs(span)
            assert attrs[sc.WORKSPACE_ID] == "#support", span.name
            if span is not workspace:
                assert attrs[sc.BOT_NAME] in {"triage_agent", "billing_agent", "tech_agent"}, span.name
        assert recording.attrs(lookup)[sc.BOT_NAME] == "billing_agent"
        assert recording.attrs(restart)[sc.BOT_NAME] == "tech_agent"
        lookup_attrs = recording.attrs(lookup)
        assert lookup_attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"invoice_id": "INV-1", "api_key": "[REDACTED]"}'
        assert lookup_attrs[sc.GEN_AI_TOOL_CALL_RESULT] == '"invoice INV-1: paid"'
        assert lookup_attrs[sc.GEN_AI_TOOL_CALL_ID] == "call-lookup_invoice"
        assert lookup_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_SUCCESS
        restart_attrs = recording.attrs(restart)
        assert restart_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_ERROR
        assert restart_attrs[sc.ERROR_TYPE] == "RuntimeError"
        assert recording.failures() == ["execute_tool restart_router"]
        (decision,) = [e for e in lookup.events if e.name == "worklog.decision"]
        assert (decision.attributes or {})[sc.WORKLOG_MESSAGE] == "Invoice found in the ledger"
        assert recording.attrs(billing)[sc.GEN_AI_USAGE_INPUT_TOKENS] == 20
        assert recording.attrs(billing)[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 10
        for agent in recording.counted(Kind.BOT):
            assert recording.attrs(agent)[sc.GEN_AI_AGENT_NAME] == recording.attrs(agent)[sc.BOT_NAME]
            assert recording.attrs(agent)[sc.GEN_AI_REQUEST_MODEL] == MODEL
        assert recording.alerts == []

    def test_explain_and_logs_show_the_session(self, recording: Recording) -> None:
        two_runs()
        session, log = explained_support_session(recording)
        assert session["workspace"] == "#support"
        assert set(session["bots"]) == {"triage_agent", "billing_agent", "tech_agent"}
        assert [(h["from"], h["to"], [r["bot"] for r in h["received_by"]]) for h in log["handoffs"]] == [
            ("triage_agent", "billing_agent", ["billing_agent"]),
            ("triage_agent", "tech_agent", ["tech_agent"]),
        ]
        assert [(e["bot"], e["message"]) for e in log["entries"] if e["level"] == "decision"] == [
            ("billing_agent", "Invoice found in the ledger")
        ]
        assert "triage_agent ──▶ tech_agent" in recording.cli("explain")

    @pytest.mark.parametrize("mode", ["stream", "astream"])
    def test_a_streamed_run_records_the_same(self, recording: Recording, mode: str) -> None:
        two_runs()
        plain = recording.shape()
        recording.exporter.clear()
        two_runs(mode)
        assert_nothing_current()
        assert recording.shape() == plain

    def test_the_next_run_starts_a_trace_of_its_own(self, recording: Recording) -> None:
        with wl.workspace("#support"):
            run("billing_agent")
        run("tech_agent")  # outside any workspace
        assert_nothing_current()
        roots = [s for s in recording.spans() if s.parent is None]
        assert [s.name for s in roots] == ["workspace #support", "invoke_workflow LangGraph"]
        outside = [s for s in recording.spans() if s.context.trace_id == roots[1].context.trace_id]
        assert {recording.attrs(s).get(sc.BOT_NAME) for s in outside if s is not roots[1]} == {
            "triage_agent",
            "tech_agent",
        }

    def test_a_handoff_tool_s_reason_is_recorded(self, recording: Recording) -> None:
        @tool
        def transfer_to_billing_agent(
            reason: str,
            state: Annotated[dict[str, Any], InjectedState],
            tool_call_id: Annotated[str, InjectedToolCallId],
        ) -> Command[Any]:
            """Hand the question to billing, saying why."""
            done = ToolMessage(content="Transferred", tool_call_id=tool_call_id)
            return Command(goto="billing_agent", graph=Command.PARENT, update={"messages": [*state["messages"], done]})

        why = "invoice question, card sk-live-abcdefghijklmnopqrstuv"
        triage = create_react_agent(
            FakeChat(messages=iter([say(call="transfer_to_billing_agent", args={"reason": why})])),
            [transfer_to_billing_agent],
            name="triage_agent",
        )
        billing = create_react_agent(FakeChat(messages=iter([say("Paid.")])), [lookup_invoice], name="billing_agent")
        hand_over(triage, billing)
        assert_nothing_current()
        handoff = recording.one("handoff triage_agent -> billing_agent")
        assert recording.attrs(handoff)[sc.WORKLOG_HANDOFF_REASON] == "invoice question, card [REDACTED:openai_key]"
        assert [link.context.span_id for link in recording.one("invoke_agent billing_agent").links] == [
            handoff.context.span_id
        ]
        # langgraph_supervisor's own transfer tools take no reason: none is recorded.
        recording.exporter.clear()
        with wl.workspace("#support"):
            run("billing_agent")
        assert sc.WORKLOG_HANDOFF_REASON not in recording.attrs(recording.one("handoff triage_agent -> billing_agent"))

    def test_a_node_of_the_app_s_own_graph_hands_off_with_command_goto(self, recording: Recording) -> None:
        def triage_agent(state: MessagesState) -> Command[Any]:
            return Command(goto="billing_agent")

        billing = create_react_agent(
            FakeChat(
                messages=iter([say(call="lookup_invoice", args={"invoice_id": "INV-1", "api_key": "k"}), say("Paid.")])
            ),
            [lookup_invoice],
            name="billing_agent",
        )
        hand_over(triage_agent, billing)
        assert_nothing_current()
        handoff = recording.one("handoff triage_agent -> billing_agent")
        billing_span = recording.one("invoke_agent billing_agent")
        assert [(link.context.span_id, dict(link.attributes or {})) for link in billing_span.links] == [
            (handoff.context.span_id, {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF})
        ]
        assert recording.attrs(billing_span)[sc.BOT_TRIGGERED_BY] == "triage_agent"
        assert recording.tools() == [("lookup_invoice", "billing_agent")]

    def test_an_agent_that_fails_is_recorded_failed(self, recording: Recording) -> None:
        @tool
        def restart_router(router_id: str) -> str:
            """Restart a router."""
            raise RuntimeError("router unreachable")

        tech = create_react_agent(
            FakeChat(messages=iter([say(call="restart_router", args={"router_id": "R1"})])),
            ToolNode([restart_router], handle_tool_errors=False),  # the error ends the agent's run
            name="tech_agent",
        )
        with wl.workspace("#support"), pytest.raises(RuntimeError, match="router unreachable"):
            tech.invoke({"messages": [("user", "router down")]})
        assert_agent_failed(recording, "tech_agent", "restart_router")

    def test_token_usage_reaches_analytics_and_the_cost_detector(self, tmp_path: Path) -> None:
        # the supervisor: two model calls per run; each worker two (15 tokens a call).
        assert_usage_is_analysed(
            tmp_path / "worklog.db", two_runs, {"triage_agent": 60, "billing_agent": 30, "tech_agent": 30}
        )

    def test_an_interrupt_is_no_failure(self, recording: Recording) -> None:
        @tool
        def refund(amount: int) -> str:
            """Refund an amount, once a human agrees."""
            interrupt(f"refund {amount}?")
            return "refunded"

        billing = create_react_agent(
            FakeChat(messages=iter([say(call="refund", args={"amount": 5}), say("Done.")])),
            [refund],
            name="billing_agent",
            checkpointer=InMemorySaver(),
        )
        with wl.workspace("#support"):
            result = billing.invoke({"messages": [("user", "refund")]}, {"configurable": {"thread_id": "t1"}})
        assert "__interrupt__" in result
        assert_nothing_current()
        assert recording.failures() == []
        (call,) = recording.counted(Kind.TOOL)
        assert call.status.status_code.name == "UNSET"


SECRET = "sk-live-abcdefghijklmnopqrstuv"


class InvoiceQuery(BaseModel):
    invoice_id: str = Field(description="The invoice's number")
    api_key: str = Field(description="The ledger's key")


class LedgerTool(BaseTool):
    """A tool as a library ships it: a ``BaseTool`` subclass with an ``args_schema``, not a decorated function."""

    name: str = "lookup_invoice"
    description: str = "Look up an invoice in the ledger."
    args_schema: type[BaseModel] = InvoiceQuery

    def _run(self, invoice_id: str, api_key: str, **kwargs: Any) -> str:
        return f"invoice {invoice_id}: paid"


def _restart(router_id: str) -> str:
    raise RuntimeError("router unreachable")


RESTART_ROUTER = StructuredTool.from_function(_restart, name="restart_router", description="Restart a router.")


def library_tool_runs() -> None:
    """billing calls the library's ledger tool, tech a ``StructuredTool`` that raises (its error goes to the model)."""
    billing = create_react_agent(
        FakeChat(messages=iter([say(call="lookup_invoice", args={"invoice_id": "INV-1", "api_key": SECRET}), say()])),
        [LedgerTool()],
        name="billing_agent",
    )
    tech = create_react_agent(
        FakeChat(messages=iter([say(call="restart_router", args={"router_id": "R1"}), say("Down.")])),
        ToolNode([RESTART_ROUTER], handle_tool_errors=True),
        name="tech_agent",
    )
    with wl.workspace("#support"):
        billing.invoke({"messages": [("user", "invoice?")]})
        tech.invoke({"messages": [("user", "router down")]})


class TestLibraryTools:
    def test_each_library_tool_call_is_one_tool_span(self, recording: Recording) -> None:
        library_tool_runs()
        assert_nothing_current()
        lookup, restart = recording.support_tool_spans()
        for tool_span in (lookup, restart):
            assert recording.attrs(tool_span)[sc.WORKSPACE_ID] == "#support"
        lookup_attrs = recording.attrs(lookup)
        assert json.loads(lookup_attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {
            "invoice_id": "INV-1",
            "api_key": "[REDACTED]",
        }
        assert "invoice INV-1: paid" in lookup_attrs[sc.GEN_AI_TOOL_CALL_RESULT]
        assert lookup_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_SUCCESS
        assert SECRET not in str([recording.attrs(s) for s in recording.spans()])
        restart_attrs = recording.attrs(restart)
        assert restart_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_ERROR
        assert restart_attrs[sc.ERROR_TYPE] == "RuntimeError"
        assert restart.status.status_code.name == "ERROR"
        assert recording.failures() == ["execute_tool restart_router"]
        explained_support_session(recording, "router unreachable")


class _ReportingChat(FakeChat):
    """The fake chat model, reporting its usage and model in ``llm_output`` as provider models do."""

    reported: dict[str, Any]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        result = super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        return ChatResult(generations=result.generations, llm_output=self.reported)


class TestModelUsage:
    @pytest.mark.parametrize(
        ("reported", "model"),
        [
            ({"token_usage": {"prompt_tokens": 7, "completion_tokens": 3}, "model_name": "gpt-test"}, "gpt-test"),
            ({"usage": {"input_tokens": 7, "output_tokens": 3}, "model": "claude-test"}, "claude-test"),
        ],
        ids=["openai-keys", "anthropic-keys"],
    )
    def test_a_models_own_report_comes_before_its_messages_usage(
        self, recording: Recording, reported: dict[str, Any], model: str
    ) -> None:
        answer = AIMessage(content="Paid.", usage_metadata=USAGE)  # type: ignore[arg-type]
        chat = _ReportingChat(messages=iter([answer]), reported=reported)
        billing = create_react_agent(chat, [], name="billing_agent")
        with wl.workspace("#support"):
            billing.invoke({"messages": [("user", "invoice?")]})
        assert_nothing_current()
        attrs = recording.attrs(recording.one("invoke_agent billing_agent"))
        assert (attrs[sc.GEN_AI_USAGE_INPUT_TOKENS], attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (7, 3)
        assert attrs[sc.GEN_AI_REQUEST_MODEL] == model


PEER_MODULES = {
    "openinference": "openinference.instrumentation.langchain",
    "openllmetry": "opentelemetry.instrumentation.langchain",
}


def beside_a_peer(peer_name: str, order: str, mode: str, store: Path, *, next_run: bool = False) -> dict[str, Any]:
    """The app beside the peer, in a fresh process (OpenLLMetry's uninstrument leaves LangGraph wrapped)."""
    require(
        "openinference.instrumentation.langchain"
        if peer_name == "openinference"
        else "opentelemetry.instrumentation.langchain",
        "langgraph",
    )
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("OTEL_WORKLOG_STORE", None)
    command = [sys.executable, "-m", "tests.integrations.langgraph_peer_run", peer_name, order, mode, str(store)]
    if next_run:
        command.append("--next-run")
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    summary: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return summary


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("peer_name", PEERS)
class TestBesidePeers:
    @pytest.mark.parametrize("mode", ["invoke", "astream"])
    def test_each_agent_tool_and_handoff_counts_once(
        self, tmp_path: Path, peer_name: str, order: str, mode: str
    ) -> None:
        seen = beside_a_peer(peer_name, order, mode, tmp_path / "worklog.db", next_run=True)
        assert seen["nothing_current"]
        assert seen["tools"] == [["lookup_invoice", "billing_agent"], ["restart_router", "tech_agent"]]
        assert seen["bots"] == TURNS
        assert seen["handoffs"] == ["handoff triage_agent -> billing_agent", "handoff triage_agent -> tech_agent"]
        # LangGraph's handoff is a ParentCommand raised through the supervisor: no failure, whoever recorded it.
        assert seen["failures"] == ["execute_tool restart_router"]
        assert seen["tokens"] == 8 * 15
        assert seen["peer_spans"] > 0, "the peer recorded nothing"
        assert seen["without_workspace"] == []
        assert seen["peer_tools"] and all(tool == ["billing_agent", True] for tool in seen["peer_tools"])
        assert seen["next_root"] == "ok"
        # The peer's spans of each receiving agent carry its handoff link, as ours does.
        for receiver in ("billing_agent", "tech_agent"):
            assert seen["linked"][receiver], receiver
            assert all(links == [True] for links in seen["linked"][receiver]), (receiver, seen["linked"])

    def test_explain_logs_and_detectors_count_once(self, tmp_path: Path, peer_name: str, order: str) -> None:
        store = tmp_path / "worklog.db"
        seen = beside_a_peer(peer_name, order, "invoke", store)
        recording = Recording(store=store)
        (session,) = recording.cli_json("logs")
        assert session["errors"] == 1
        log = recording.cli_json("explain")
        assert [(t["tool"], t["bot"]) for t in log["tools"]] == [
            ("lookup_invoice", "billing_agent"),
            ("restart_router", "tech_agent"),
        ]
        assert seen["alerts"] == []


class TestInstrumentation:
    def test_instrument_twice_records_once_and_uninstrument_stops(self, recording: Recording) -> None:
        wl_langgraph.instrument()
        with wl.workspace("#support"):
            run("billing_agent")
        assert recording.tools() == [("lookup_invoice", "billing_agent")]
        wl_langgraph.uninstrument()
        wl_langgraph.uninstrument()
        recording.exporter.clear()
        with wl.workspace("#support"):
            run("billing_agent")
        assert [s.name for s in recording.spans()] == ["workspace #support"]

    def test_spans_go_to_the_tracer_provider_given(self, recording: Recording) -> None:
        provider, own = separate_provider()
        wl_langgraph.uninstrument()
        wl_langgraph.instrument(tracer_provider=provider)
        with wl.workspace("#support"):
            run("billing_agent")
        names = [s.name for s in own.get_finished_spans()]
        assert "invoke_agent billing_agent" in names and "execute_tool lookup_invoice" in names
        assert "handoff triage_agent -> billing_agent" in names
        assert [s.name for s in recording.spans()] == ["workspace #support"]

    def test_tool_content_is_truncated_like_wl_tool(self, tmp_path: Path) -> None:
        def lookup(invoice_id: str) -> str:
            """Look up an invoice."""
            return "paid " * 100

        billing = create_react_agent(
            FakeChat(messages=iter([say(call="lookup_invoice", args={"invoice_id": "I" * 100}), say("ok")])),
            [tool("lookup_invoice")(lookup)],
            name="billing_agent",
        )
        with recording_into(tmp_path / "worklog.db", max_value_length=40) as recording:
            with wl.workspace("#support"):
                billing.invoke({"messages": [("user", "invoice?")]})
                with wl.bot("billing_agent"):
                    wl.tool(lookup)(invoice_id="I" * 100)
            assert_truncated_like_wl_tool(recording, "lookup_invoice")
