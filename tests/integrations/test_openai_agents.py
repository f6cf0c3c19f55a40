"""OpenAI Agents SDK: a triage agent hands work to billing (a tool that succeeds) and tech (a tool that raises).

Run with the SDK's own scripted test model (``agents.testing.ScriptedModel``): no network, no LLM.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.span_kinds import Kind, classify
from otel_worklog.integrations import openai_agents
from tests.integrations.conftest import (
    MCP_SERVER_ARGS,
    MCP_SERVER_CWD,
    ORDERS,
    PEERS,
    SUPPORT_TOOLS,
    Recording,
    assert_agent_failed,
    assert_next_root_has_no_parent,
    assert_nothing_current,
    assert_truncated_like_wl_tool,
    assert_usage_is_analysed,
    explained_support_session,
    peer,
    recording_into,
    require,
    scope_of,
    separate_provider,
)

agents = require("agents", "openai-agents")
from agents import (  # noqa: E402
    Agent,
    GuardrailFunctionOutput,
    InputGuardrail,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
)
from agents import handoff as agents_handoff  # noqa: E402
from agents.exceptions import InputGuardrailTripwireTriggered  # noqa: E402
from agents.mcp import MCPServerStdio, MCPServerStdioParams  # noqa: E402
from agents.testing import ScriptedModel, assistant_message, function_call  # noqa: E402
from agents.tracing import generation_span, set_trace_processors  # noqa: E402
from agents.tracing.provider import DefaultTraceProvider  # noqa: E402
from agents.usage import Usage  # noqa: E402
from openai import AsyncOpenAI, InternalServerError  # noqa: E402
from pydantic import BaseModel  # noqa: E402

USAGE = Usage(requests=1, input_tokens=10, output_tokens=5, total_tokens=15)
SECRET = "sk-live-abcdefghijklmnopqrstuv"


@function_tool
def lookup_invoice(invoice_id: str, api_key: str) -> str:
    """Look up an invoice."""
    wl.decision("Invoice found in the ledger", confidence=0.9)
    return f"invoice {invoice_id}: paid"


@function_tool
def restart_router(router_id: str) -> str:
    """Restart a router."""
    raise RuntimeError("router unreachable")


def support_app(to: str) -> Agent[Any]:
    """triage hands the question to ``to``; each specialist calls its tool once, then answers."""

    def model(tool: str, arguments: dict[str, Any], answer: str) -> ScriptedModel:
        return ScriptedModel(
            [[function_call(tool, arguments, call_id=f"call-{tool}")], [assistant_message(answer)]],
            default_usage=USAGE,
        )

    billing = Agent(
        name="billing_agent",
        tools=[lookup_invoice],
        model=model("lookup_invoice", {"invoice_id": "INV-1", "api_key": SECRET}, "Paid."),
    )
    tech = Agent(name="tech_agent", tools=[restart_router], model=model("restart_router", {"router_id": "R1"}, "Down."))
    triage = ScriptedModel([[function_call(f"transfer_to_{to}", {}, call_id="call-handoff")]], default_usage=USAGE)
    return Agent(name="triage_agent", handoffs=[billing, tech], model=triage)


class NamedModel(ScriptedModel):
    """The scripted model, reporting its name and usage on a generation span as the SDK's chat model does."""

    async def get_response(self, *args: Any, **kwargs: Any) -> Any:
        with generation_span(model="gpt-4o-mini") as span:
            response = await super().get_response(*args, **kwargs)
            usage = response.usage
            span.span_data.usage = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
            return response


class Why(BaseModel):
    """What the model says when it hands over (a handoff's ``input_type``)."""

    reason: str


class Ticket(BaseModel):
    priority: str
    api_key: str


def run(to: str, *, streamed: bool = False) -> None:
    async def go() -> None:
        if streamed:
            result = Runner.run_streamed(support_app(to), "help")
            async for _ in result.stream_events():
                pass
        else:
            await Runner.run(support_app(to), "help")

    asyncio.run(go())


def two_runs(streamed: bool = False) -> None:
    with wl.workspace("#support"):
        run("billing_agent", streamed=streamed)
        run("tech_agent", streamed=streamed)


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    set_trace_processors([])  # no OpenAI backend exporter in tests
    openai_agents.instrument()
    try:
        yield
    finally:
        openai_agents.uninstrument()
        set_trace_processors([])


class TestSupportApp:
    def test_agents_handoffs_and_tools_are_recorded(self, recording: Recording) -> None:
        two_runs()
        assert_nothing_current()
        workspace = recording.one("workspace #support")
        triage_spans = [s for s in recording.spans() if s.name == "invoke_agent triage_agent"]
        billing = recording.one("invoke_agent billing_agent")
        tech = recording.one("invoke_agent tech_agent")
        to_billing = recording.one("handoff triage_agent -> billing_agent")
        to_tech = recording.one("handoff triage_agent -> tech_agent")
        lookup = recording.one("execute_tool lookup_invoice")
        restart = recording.one("execute_tool restart_router")
        assert len(triage_spans) == 2
        assert workspace.parent is None
        # Parents: the agents run in the workspace, handoffs in the agent handing off, tools in their agent.
        for agent in (*triage_spans, billing, tech):
            assert agent.parent is not None and agent.parent.span_id == workspace.context.span_id
        assert to_billing.parent is not None and to_billing.parent.span_id == triage_spans[0].context.span_id
        assert to_tech.parent is not None and to_tech.parent.span_id == triage_spans[1].context.span_id
        assert lookup.parent is not None and lookup.parent.span_id == billing.context.span_id
        assert restart.parent is not None and restart.parent.span_id == tech.context.span_id
        # The receiving agent links to its handoff.
        for receiver, handoff in ((billing, to_billing), (tech, to_tech)):
            (link,) = receiver.links
            assert link.context.span_id == handoff.context.span_id
            assert dict(link.attributes or {}) == {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF}
            assert recording.attrs(receiver)[sc.BOT_TRIGGERED_BY] == "triage_agent"
            assert recording.attrs(handoff)[sc.WORKLOG_HANDOFF_FROM] == "triage_agent"
        # workspace.id on every span, bot.name on every span inside a bot.
        for span in recording.spans():
            assert recording.attrs(span)[sc.WORKSPACE_ID] == "#support", span.name
        expected_bots = {
            billing.name: "billing_agent",
            tech.name: "tech_agent",
            lookup.name: "billing_agent",
            restart.name: "tech_agent",
            to_billing.name: "triage_agent",
            to_tech.name: "triage_agent",
            "invoke_agent triage_agent": "triage_agent",
        }
        for span in recording.spans():
            if span is not workspace:
                assert recording.attrs(span)[sc.BOT_NAME] == expected_bots[span.name]
        for agent in (*triage_spans, billing, tech):
            assert recording.attrs(agent)[sc.GEN_AI_AGENT_NAME] == recording.attrs(agent)[sc.BOT_NAME]
            assert agent.status.status_code.name == "UNSET"
        # Tools: arguments redacted like @wl.tool, the result, the status and the error.
        lookup_attrs = recording.attrs(lookup)
        assert lookup_attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"invoice_id": "INV-1", "api_key": "[REDACTED]"}'
        assert lookup_attrs[sc.GEN_AI_TOOL_CALL_RESULT] == '"invoice INV-1: paid"'
        assert lookup_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_SUCCESS
        assert lookup_attrs[sc.WORKLOG_REDACTED_COUNT] == 1
        restart_attrs = recording.attrs(restart)
        assert restart_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_ERROR
        assert restart_attrs[sc.ERROR_TYPE] == "RuntimeError"
        assert restart.status.status_code.name == "ERROR"
        assert [(e.attributes or {})["exception.message"] for e in restart.events if e.name == "exception"] == [
            "router unreachable"
        ]
        # The decision made inside the tool lands on the billing agent's work.
        (decision,) = [e for e in lookup.events if e.name == "worklog.decision"]
        assert (decision.attributes or {})[sc.WORKLOG_MESSAGE] == "Invoice found in the ledger"
        # Usage summed on each bot span: one model call for triage, two for each specialist.
        assert recording.attrs(triage_spans[0])[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10
        assert recording.attrs(billing)[sc.GEN_AI_USAGE_INPUT_TOKENS] == 20
        assert recording.attrs(billing)[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 10
        assert recording.alerts == []

    def test_explain_and_logs_show_the_session(self, recording: Recording) -> None:
        two_runs()
        session, log = explained_support_session(recording, "router unreachable")
        assert session["workspace"] == "#support"
        assert set(session["bots"]) == {"triage_agent", "billing_agent", "tech_agent"}
        assert [(h["from"], h["to"], [r["bot"] for r in h["received_by"]]) for h in log["handoffs"]] == [
            ("triage_agent", "billing_agent", ["billing_agent"]),
            ("triage_agent", "tech_agent", ["tech_agent"]),
        ]
        assert [(e["bot"], e["level"], e["message"]) for e in log["entries"] if e["level"] == "decision"] == [
            ("billing_agent", "decision", "Invoice found in the ledger")
        ]
        text = recording.cli("explain")
        assert "triage_agent ──▶ billing_agent" in text
        assert "restart_router ✗ error" in text

    def test_a_streamed_run_records_the_same(self, recording: Recording) -> None:
        two_runs()
        plain = recording.shape()
        recording.exporter.clear()
        two_runs(streamed=True)
        assert_nothing_current()
        assert recording.shape() == plain

    def test_the_next_run_starts_a_trace_of_its_own(self, recording: Recording) -> None:
        with wl.workspace("#support"):
            run("billing_agent")
        with wl.workspace("#support"):
            run("tech_agent")
        run("billing_agent")  # outside any workspace
        assert_nothing_current()
        roots = [s for s in recording.spans() if s.parent is None]
        assert [s.name for s in roots] == ["workspace #support", "workspace #support", "invoke_workflow Agent workflow"]
        assert len({s.context.trace_id for s in roots}) == 3

    def test_a_handoff_carries_the_reason_the_model_gave(self, recording: Recording) -> None:
        billing = Agent(name="billing_agent", model=ScriptedModel([[assistant_message("Paid.")]]))
        tech = Agent(name="tech_agent", model=ScriptedModel([[assistant_message("Down.")]]))

        def noted(context: Any, data: Any) -> None:
            """on_handoff: the SDK requires one with an input_type."""

        triage = Agent(
            name="triage_agent",
            handoffs=[
                agents_handoff(billing, input_type=Why, on_handoff=noted),
                agents_handoff(tech, input_type=Ticket, on_handoff=noted),
            ],
            model=ScriptedModel(
                [
                    [function_call("transfer_to_billing_agent", {"reason": "invoice question"}, call_id="h1")],
                    [
                        function_call(
                            "transfer_to_tech_agent",
                            {"priority": "high", "api_key": "sk-live-abcdefghijklmnopqrstuv"},
                            call_id="h2",
                        )
                    ],
                ]
            ),
        )
        with wl.workspace("#support"):
            asyncio.run(Runner.run(triage, "help"))
            asyncio.run(Runner.run(triage, "help"))
        to_billing = recording.one("handoff triage_agent -> billing_agent")
        to_tech = recording.one("handoff triage_agent -> tech_agent")
        assert recording.attrs(to_billing)[sc.WORKLOG_HANDOFF_REASON] == "invoice question"
        (event,) = [e for e in to_billing.events if e.name == "worklog.handoff"]
        assert (event.attributes or {})[sc.WORKLOG_MESSAGE] == "triage_agent -> billing_agent: invoice question"
        # Structured handoff input without a reason field: recorded whole, redacted like tool arguments.
        assert recording.attrs(to_tech)[sc.WORKLOG_HANDOFF_REASON] == '{"priority": "high", "api_key": "[REDACTED]"}'
        # A handoff the model gave no input for has no reason.
        recording.exporter.clear()
        with wl.workspace("#support"):
            run("billing_agent")
        assert sc.WORKLOG_HANDOFF_REASON not in recording.attrs(recording.one("handoff triage_agent -> billing_agent"))

    def test_an_agent_that_fails_is_recorded_failed(self, recording: Recording) -> None:
        @function_tool(failure_error_function=None)  # the tool's error ends the run instead of going to the model
        def restart_router(router_id: str) -> str:
            """Restart a router."""
            raise RuntimeError("router unreachable")

        tech = Agent(
            name="tech_agent",
            tools=[restart_router],
            model=ScriptedModel([[function_call("restart_router", {"router_id": "R1"}, call_id="c")]]),
        )
        with wl.workspace("#support"), pytest.raises(agents.exceptions.UserError):
            asyncio.run(Runner.run(tech, "router down"))
        assert_agent_failed(recording, "tech_agent", "restart_router")

    def test_the_model_name_is_on_the_bot_span(self, recording: Recording) -> None:
        billing = Agent(name="billing_agent", model=NamedModel([[assistant_message("Paid.")]], default_usage=USAGE))
        with wl.workspace("#support"):
            asyncio.run(Runner.run(billing, "invoice?"))
        attrs = recording.attrs(recording.one("invoke_agent billing_agent"))
        assert attrs[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
        assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10

    def test_token_usage_reaches_analytics_and_the_cost_detector(self, tmp_path: Path) -> None:
        # triage: one model call per run; each specialist two (15 tokens a call).
        assert_usage_is_analysed(
            tmp_path / "worklog.db", two_runs, {"triage_agent": 30, "billing_agent": 30, "tech_agent": 30}
        )


def run_with_mcp(agent: str, tool: str, arguments: dict[str, Any]) -> None:
    """``agent`` calls ``tool`` of the MCP server (started in its own process for the run), then answers."""

    async def go() -> None:
        params = MCPServerStdioParams(command=sys.executable, args=MCP_SERVER_ARGS, cwd=MCP_SERVER_CWD)
        async with MCPServerStdio(params=params, name="billing-ledger") as server:
            model = ScriptedModel(
                [[function_call(tool, arguments, call_id=f"call-{tool}")], [assistant_message("Done.")]],
                default_usage=USAGE,
            )
            await Runner.run(Agent(name=agent, mcp_servers=[server], model=model), "help")

    asyncio.run(go())


def mcp_runs() -> None:
    with wl.workspace("#support"):
        run_with_mcp("billing_agent", "lookup_invoice", {"invoice_id": "INV-1", "api_key": SECRET})
        run_with_mcp("tech_agent", "restart_router", {"router_id": "R1"})


class TestMCPTools:
    """Tools of an MCP server running in another process, called by the SDK's ``MCPServerStdio``."""

    def test_each_mcp_tool_call_is_one_tool_span(self, recording: Recording) -> None:
        mcp_runs()
        assert_nothing_current()
        lookup, restart = recording.support_tool_spans()
        for tool, agent in ((lookup, "billing_agent"), (restart, "tech_agent")):
            assert (
                tool.parent is not None
                and tool.parent.span_id == recording.one(f"invoke_agent {agent}").context.span_id
            )
            assert recording.attrs(tool)[sc.WORKSPACE_ID] == "#support"
            assert recording.attrs(tool)[sc.GEN_AI_TOOL_TYPE] == "extension"
        lookup_attrs = recording.attrs(lookup)
        assert lookup_attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"invoice_id": "INV-1", "api_key": "[REDACTED]"}'
        assert "invoice INV-1: paid" in lookup_attrs[sc.GEN_AI_TOOL_CALL_RESULT]
        assert lookup_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_SUCCESS
        assert SECRET not in str([recording.attrs(s) for s in recording.spans()])
        # The server's tool raised: the call failed with the server's message, though the SDK hands it to the model.
        restart_attrs = recording.attrs(restart)
        assert restart_attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"router_id": "R1"}'
        assert restart_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_ERROR
        assert restart.status.status_code.name == "ERROR"
        assert "router R1 unreachable" in str(restart.status.description)
        assert recording.failures() == ["execute_tool restart_router"]

    def test_explain_and_logs_count_each_mcp_call_once(self, recording: Recording) -> None:
        mcp_runs()
        explained_support_session(recording, "Error executing tool restart_router: router R1 unreachable")
        assert recording.alerts == []


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("peer_name", PEERS)
class TestBesidePeers:
    @contextlib.contextmanager
    def beside(self, peer_name: str, recording: Recording, order: str) -> Iterator[None]:
        """The peer's OpenAI Agents instrumentor and ours, instrumented in ``order``."""
        if peer_name == "openinference":
            module = require("openinference.instrumentation.openai_agents", "openai-agents")
        else:
            module = require("opentelemetry.instrumentation.openai_agents", "openai-agents")
        openai_agents.uninstrument()
        if order == "worklog-first":
            openai_agents.instrument()
        with peer(module.OpenAIAgentsInstrumentor(), recording.provider):
            openai_agents.instrument()
            yield

    def test_each_agent_tool_and_handoff_counts_once(self, recording: Recording, peer_name: str, order: str) -> None:
        with self.beside(peer_name, recording, order):
            two_runs()
            assert_nothing_current()
        assert recording.tools() == SUPPORT_TOOLS
        assert recording.bots() == ["triage_agent", "billing_agent", "triage_agent", "tech_agent"]
        assert recording.handoffs() == ["handoff triage_agent -> billing_agent", "handoff triage_agent -> tech_agent"]
        assert recording.failures() == ["execute_tool restart_router"]
        assert recording.tokens() == 4 * 15 + 2 * 15
        others = [s for s in recording.spans() if scope_of(s) != sc.INSTRUMENTATION_SCOPE]
        assert others, "the peer recorded nothing"
        ours = [s for s in recording.spans() if scope_of(s) == sc.INSTRUMENTATION_SCOPE]
        for span in others:
            attrs = recording.attrs(span)
            assert attrs[sc.WORKSPACE_ID] == "#support", span.name
            copy_of = attrs.get(sc.WORKLOG_DUPLICATE_OF)
            if copy_of:  # a copy of one of our spans: of that agent's work
                original = next(s for s in ours if f"{s.context.span_id:016x}" == copy_of)
                assert attrs.get(sc.BOT_NAME) == recording.attrs(original)[sc.BOT_NAME], span.name
        peer_tools = [s for s in others if "lookup_invoice" in s.name]
        assert peer_tools and all(sc.WORKLOG_DUPLICATE_OF in recording.attrs(s) for s in peer_tools)

    def test_explain_logs_and_detectors_count_once(self, recording: Recording, peer_name: str, order: str) -> None:
        with self.beside(peer_name, recording, order):
            two_runs()
        wl.force_flush()
        (session,) = recording.cli_json("logs")
        assert session["errors"] == 1
        log = recording.cli_json("explain")
        assert [(t["tool"], t["bot"]) for t in log["tools"]] == [
            ("lookup_invoice", "billing_agent"),
            ("restart_router", "tech_agent"),
        ]
        assert [a.kind for a in recording.alerts] == []

    def test_the_next_run_starts_a_trace_of_its_own(self, recording: Recording, peer_name: str, order: str) -> None:
        with self.beside(peer_name, recording, order):
            with wl.workspace("#support"):
                run("billing_agent")
            assert_nothing_current()
            assert_next_root_has_no_parent(recording, lambda: run("tech_agent"))

    def test_the_peers_agent_spans_carry_the_handoff_link(
        self, recording: Recording, peer_name: str, order: str
    ) -> None:
        with self.beside(peer_name, recording, order):
            two_runs()
        for receiver in ("billing_agent", "tech_agent"):
            ours = recording.one(f"invoke_agent {receiver}")
            handoff_span = recording.one(f"handoff triage_agent -> {receiver}")
            copies = [
                s
                for s in recording.spans()
                if scope_of(s) != sc.INSTRUMENTATION_SCOPE
                and recording.attrs(s).get(sc.WORKLOG_DUPLICATE_OF) == f"{ours.context.span_id:016x}"
            ]
            assert copies, f"the peer recorded no span of {receiver}'s turn"
            for copy in copies:
                assert [(link.context.span_id, dict(link.attributes or {})) for link in copy.links] == [
                    (handoff_span.context.span_id, {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF})
                ], copy.name


class Forwarding(DefaultTraceProvider):
    """A trace provider that hands the SDK's events to a dispatcher of its own (not the SDK's processor list)."""

    def __init__(self) -> None:
        super().__init__()
        self._multi_processor = object()  # type: ignore[assignment]


class TestNeighbours:
    def test_openinference_replacing_the_processor_list_does_not_remove_otel_worklog(
        self, recording: Recording
    ) -> None:
        module = require("openinference.instrumentation.openai_agents", "openai-agents")
        with peer(module.OpenAIAgentsInstrumentor(), recording.provider):  # exclusive_processor=True by default
            two_runs()
        assert recording.tools() == SUPPORT_TOOLS

    def test_a_trace_provider_that_bypasses_the_sdk_dispatcher_is_named(
        self, recording: Recording, caplog: pytest.LogCaptureFixture
    ) -> None:
        from agents.tracing import get_trace_provider, set_trace_provider

        original = get_trace_provider()
        openai_agents.uninstrument()
        set_trace_provider(Forwarding())
        try:
            with caplog.at_level(logging.WARNING, logger="otel_worklog"):
                openai_agents.instrument()
        finally:
            set_trace_provider(original)
        assert "does not dispatch through the SDK's SynchronousMultiTracingProcessor" in caplog.text
        assert "keep the SDK's default trace provider" in caplog.text  # what avoids it

    def test_a_trace_provider_set_after_instrument_that_removes_the_hooks_is_named(
        self, recording: Recording, caplog: pytest.LogCaptureFixture
    ) -> None:
        import agents.tracing as agents_tracing
        from agents.tracing import get_trace_provider

        original = get_trace_provider()
        try:
            with caplog.at_level(logging.WARNING, logger="otel_worklog"):
                agents_tracing.set_trace_provider(DefaultTraceProvider())  # still the SDK's dispatch: no warning
                assert caplog.text == ""
                agents.set_trace_provider(Forwarding())
        finally:
            agents_tracing.set_trace_provider(original)
        assert "the OpenAI Agents trace provider just set (Forwarding)" in caplog.text
        assert "add your processors with agents.tracing.add_trace_processor (not set_trace_provider)" in caplog.text


class TestInstrumentation:
    def test_instrument_twice_records_once_and_uninstrument_stops(self, recording: Recording) -> None:
        openai_agents.instrument()
        with wl.workspace("#support"):
            run("billing_agent")
        assert recording.tools() == [("lookup_invoice", "billing_agent")]
        openai_agents.uninstrument()
        openai_agents.uninstrument()
        recording.exporter.clear()
        with wl.workspace("#support"):
            run("billing_agent")
        assert [s.name for s in recording.spans()] == ["workspace #support"]
        openai_agents.instrument()
        recording.exporter.clear()
        with wl.workspace("#support"):
            run("billing_agent")
        assert recording.tools() == [("lookup_invoice", "billing_agent")]

    def test_wl_tool_under_function_tool_is_one_tool_call(self, recording: Recording) -> None:
        @function_tool
        @wl.tool
        def check_balance(account: str) -> str:
            """Check an account's balance."""
            return "42"

        billing = Agent(
            name="billing_agent",
            tools=[check_balance],
            model=ScriptedModel(
                [[function_call("check_balance", {"account": "A1"}, call_id="c")], [assistant_message("42")]]
            ),
        )
        with wl.workspace("#support"):
            asyncio.run(Runner.run(billing, "balance?"))
        assert recording.tools() == [("check_balance", "billing_agent")]
        outer = recording.one("execute_tool check_balance")
        (inner,) = [s for s in recording.spans() if sc.WORKLOG_DUPLICATE_OF in recording.attrs(s)]
        assert inner.name.endswith(".check_balance")  # @wl.tool's own span, named by the function
        assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
        assert recording.attrs(inner)[sc.WORKLOG_DUPLICATE_OF] == f"{outer.context.span_id:016x}"
        assert classify(inner.name, recording.attrs(inner)) is Kind.OTHER

    def test_an_agent_used_as_a_tool_is_handed_the_work(self, recording: Recording) -> None:
        billing = Agent(
            name="billing_agent",
            model=ScriptedModel([[assistant_message("Paid.")]], default_usage=USAGE),
        )
        triage = Agent(
            name="triage_agent",
            tools=[billing.as_tool(tool_name="ask_billing", tool_description="Ask billing")],
            model=ScriptedModel(
                [[function_call("ask_billing", {"input": "invoice?"}, call_id="c")], [assistant_message("Done.")]]
            ),
        )
        with wl.workspace("#support"):
            asyncio.run(Runner.run(triage, "help"))
        assert_nothing_current()
        handoff = recording.one("handoff triage_agent -> billing_agent")
        billing_span = recording.one("invoke_agent billing_agent")
        tool = recording.one("execute_tool ask_billing")
        assert handoff.parent is not None and handoff.parent.span_id == tool.context.span_id
        assert [link.context.span_id for link in billing_span.links] == [handoff.context.span_id]
        assert recording.attrs(tool)[sc.BOT_NAME] == "triage_agent"

    def test_a_tripped_guardrail_is_a_warning_entry(self, recording: Recording) -> None:
        async def no_secrets(context: Any, agent: Any, text: Any) -> GuardrailFunctionOutput:
            return GuardrailFunctionOutput(output_info="blocked", tripwire_triggered=True)

        triage = Agent(
            name="triage_agent",
            input_guardrails=[InputGuardrail(guardrail_function=no_secrets, name="no_secrets")],
            model=ScriptedModel([[assistant_message("Hi.")]]),
        )
        with wl.workspace("#support"), pytest.raises(InputGuardrailTripwireTriggered):
            asyncio.run(Runner.run(triage, "my password is hunter2"))
        assert_nothing_current()
        bot = recording.one("invoke_agent triage_agent")
        warnings = [e for e in bot.events if e.name == "worklog.warning"]
        assert [(e.attributes or {})[sc.WORKLOG_MESSAGE] for e in warnings] == ["guardrail no_secrets tripped"]

    def test_spans_go_to_the_tracer_provider_given(self, recording: Recording) -> None:
        provider, own = separate_provider()
        openai_agents.uninstrument()
        openai_agents.instrument(tracer_provider=provider)
        try:
            with wl.workspace("#support"):
                run("billing_agent")
        finally:
            openai_agents.uninstrument()
            openai_agents.instrument()
        assert sorted(s.name for s in own.get_finished_spans()) == [
            "execute_tool lookup_invoice",
            "handoff triage_agent -> billing_agent",
            "invoke_agent billing_agent",
            "invoke_agent triage_agent",
        ]
        assert [s.name for s in recording.spans()] == ["workspace #support"]

    def test_tool_content_is_truncated_like_wl_tool(self, tmp_path: Path) -> None:
        def lookup(invoice_id: str) -> str:
            return "paid " * 100

        billing = Agent(
            name="billing_agent",
            tools=[function_tool(lookup, name_override="lookup_invoice")],
            model=ScriptedModel(
                [[function_call("lookup_invoice", {"invoice_id": "I" * 100}, call_id="c")], [assistant_message("ok")]]
            ),
        )
        with recording_into(tmp_path / "worklog.db", max_value_length=40) as recording:
            with wl.workspace("#support"):
                asyncio.run(Runner.run(billing, "invoice?"))
                with wl.bot("billing_agent"):
                    wl.tool(lookup)(invoice_id="I" * 100)
            assert_truncated_like_wl_tool(recording, "lookup_invoice")


#: What the local stand-in for the OpenAI API answers, in the API's own shapes: the model serving a
#: request names itself apart from the one requested.
_SERVED_MODEL = "gpt-test-served"
_DOWN_MODEL = "gpt-test-down"
_CHAT_COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": _SERVED_MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paid."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
}
_RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 0,
    "model": _SERVED_MODEL,
    "status": "completed",
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Paid.", "annotations": []}],
        }
    ],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
    "usage": {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10},
}


class _OpenAIStandIn(http.server.BaseHTTPRequestHandler):
    """Answers ``/chat/completions`` and ``/responses`` as the OpenAI API does; a 500 to the "down" model."""

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        answer = _CHAT_COMPLETION if self.path.endswith("/chat/completions") else _RESPONSE
        status = 500 if request.get("model") == _DOWN_MODEL else 200
        body = json.dumps(answer if status == 200 else {"error": {"message": "down"}}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def openai_client() -> Iterator[AsyncOpenAI]:
    """A client of the local stand-in for the OpenAI API (there is no network here)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _OpenAIStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield AsyncOpenAI(base_url=f"http://127.0.0.1:{server.server_address[1]}/v1", api_key="test", max_retries=0)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class TestModelCalls:
    """Without the runner's turn spans, a bot's usage and model come from its model calls' own spans.

    The SDK's own OpenAI models record them (a generation span for Chat Completions, a response span
    for the Responses API); they run here against a local HTTP server that answers as the API does.
    """

    NO_TURN_SPANS = RunConfig(tracing={"include_task_and_turn_spans": False})

    @pytest.mark.parametrize(
        ("model_class", "recorded_model"),
        [(OpenAIChatCompletionsModel, "gpt-test"), (OpenAIResponsesModel, _SERVED_MODEL)],
        ids=["chat-completions", "responses"],
    )
    def test_usage_and_model_come_from_the_model_call(
        self, recording: Recording, openai_client: AsyncOpenAI, model_class: Any, recorded_model: str
    ) -> None:
        agent = Agent(name="billing_agent", model=model_class("gpt-test", openai_client))
        with wl.workspace("#support"):
            asyncio.run(Runner.run(agent, "help", run_config=self.NO_TURN_SPANS))
        assert_nothing_current()
        attrs = recording.attrs(recording.one("invoke_agent billing_agent"))
        assert attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] == 7
        assert attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 3
        assert attrs[sc.GEN_AI_REQUEST_MODEL] == recorded_model

    def test_a_failed_model_call_still_names_its_model(self, recording: Recording, openai_client: AsyncOpenAI) -> None:
        agent = Agent(name="billing_agent", model=OpenAIChatCompletionsModel(_DOWN_MODEL, openai_client))
        with wl.workspace("#support"), pytest.raises(InternalServerError):
            asyncio.run(Runner.run(agent, "help", run_config=self.NO_TURN_SPANS))
        assert_nothing_current()
        attrs = recording.attrs(recording.one("invoke_agent billing_agent"))
        assert attrs[sc.GEN_AI_REQUEST_MODEL] == _DOWN_MODEL
        assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attrs
