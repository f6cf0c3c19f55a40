"""pydantic-ai: a triage agent delegates to billing (a tool that succeeds) and tech (a tool that raises).

pydantic-ai has no handoff of its own: triage's tools run the other agents (``await agent.run(...)``).
Run with pydantic-ai's own ``FunctionModel``: no network, no LLM.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.span_kinds import Kind
from otel_worklog.integrations import pydantic_ai as wl_pydantic_ai
from tests.integrations.conftest import (
    ORDERS,
    Recording,
    assert_next_root_has_no_parent,
    assert_nothing_current,
    assert_truncated_like_wl_tool,
    assert_usage_is_analysed,
    recording_into,
    require,
    separate_provider,
)

require("pydantic_ai", "pydantic-ai")
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from pydantic_ai import Agent, RunContext  # noqa: E402
from pydantic_ai.messages import (  # noqa: E402
    ModelMessage,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel  # noqa: E402
from pydantic_ai.usage import RequestUsage  # noqa: E402


def calls(tool: str, arguments: dict[str, Any]) -> FunctionModel:
    """A model that calls ``tool`` once, then answers."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        answered = any(isinstance(part, ToolReturnPart | RetryPromptPart) for part in messages[-1].parts)
        part = TextPart("Done.") if answered else ToolCallPart(tool, arguments)
        return ModelResponse(parts=[part], usage=RequestUsage(input_tokens=10, output_tokens=5))

    return FunctionModel(respond)


billing = Agent(calls("lookup_invoice", {"invoice_id": "INV-1"}), name="billing_agent")
#: What pydantic-ai calls a ``FunctionModel`` around ``respond``.
MODEL_NAME = "function:respond:"
tech = Agent(
    calls("restart_router", {"router_id": "R1", "api_key": "sk-live-abcdefghijklmnopqrstuv"}), name="tech_agent"
)


@billing.tool_plain
def lookup_invoice(invoice_id: str) -> str:
    wl.decision("Invoice found in the ledger", confidence=0.9)
    return f"invoice {invoice_id}: paid"


@tech.tool_plain(retries=0)
def restart_router(router_id: str, api_key: str) -> str:
    raise RuntimeError("router unreachable")


def triage(to: str) -> Agent[None, str]:
    agent = Agent(calls(f"ask_{to}", {"question": "help"}), name="triage_agent")

    @agent.tool
    async def ask_billing(ctx: RunContext[Any], /, question: str) -> str:
        return (await billing.run(question, usage=ctx.usage)).output

    @agent.tool
    async def ask_tech(ctx: RunContext[Any], /, question: str) -> str:
        try:
            return (await tech.run(question, usage=ctx.usage)).output
        except RuntimeError as exc:
            return f"tech failed: {exc}"

    return agent


#: (tool, bot) of the two runs' tool calls: triage's delegations and each specialist's tool.
TOOLS = [
    ("ask_billing", "triage_agent"),
    ("lookup_invoice", "billing_agent"),
    ("ask_tech", "triage_agent"),
    ("restart_router", "tech_agent"),
]


def two_runs() -> None:
    async def go() -> None:
        with wl.workspace("#support"):
            await triage("billing").run("my invoice?")
            await triage("tech").run("router down")

    asyncio.run(go())


@pytest.fixture(autouse=True)
def instrumented() -> Iterator[None]:
    wl_pydantic_ai.instrument()
    try:
        yield
    finally:
        wl_pydantic_ai.uninstrument()


class TestSupportApp:
    def test_agents_delegations_and_tools_are_recorded(self, recording: Recording) -> None:
        two_runs()
        assert_nothing_current()
        workspace = recording.one("workspace #support")
        assert recording.bots() == ["triage_agent", "billing_agent", "triage_agent", "tech_agent"]
        assert recording.tools() == TOOLS
        assert recording.handoffs() == ["handoff triage_agent -> billing_agent", "handoff triage_agent -> tech_agent"]
        by_id = recording.by_id()
        billing_span = recording.one("invoke_agent billing_agent", "pydantic-ai")
        to_billing = recording.one("handoff triage_agent -> billing_agent")
        ask = recording.one("execute_tool ask_billing", "pydantic-ai")
        # The delegated run is a child of the tool that started it, and linked to the handoff.
        assert billing_span.parent is not None and billing_span.parent.span_id == ask.context.span_id
        assert to_billing.parent is not None and to_billing.parent.span_id == ask.context.span_id
        (link,) = billing_span.links
        assert link.context.span_id == to_billing.context.span_id
        assert dict(link.attributes or {}) == {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF}
        for span in recording.spans():
            attrs = recording.attrs(span)
            assert attrs[sc.WORKSPACE_ID] == "#support", span.name
            if span is not workspace:
                assert sc.BOT_NAME in attrs, span.name
        for span in recording.spans():  # every span under an agent carries that agent's name
            parent = by_id.get(span.parent.span_id) if span.parent is not None else None
            if parent is not None and parent.name.startswith("invoke_agent") and not span.name.startswith("handoff"):
                own = recording.attrs(span)[sc.BOT_NAME]
                assert own in (recording.attrs(parent)[sc.BOT_NAME], span.name.removeprefix("invoke_agent ")), span.name
        lookup = recording.one("execute_tool lookup_invoice", "pydantic-ai")
        assert recording.attrs(lookup)[sc.GEN_AI_TOOL_CALL_RESULT] == '"invoice INV-1: paid"'
        assert recording.attrs(lookup)[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_SUCCESS
        restart = recording.one("execute_tool restart_router", "pydantic-ai")
        restart_attrs = recording.attrs(restart)
        assert restart_attrs[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"router_id": "R1", "api_key": "[REDACTED]"}'
        assert restart_attrs[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_ERROR
        assert restart.status.status_code.name == "ERROR"
        # The tech agent failed (pydantic-ai says so); its tool's exception is the other failure.
        assert recording.failures() == ["invoke_agent tech_agent", "execute_tool restart_router"]
        (decision,) = [e for e in lookup.events if e.name == "worklog.decision"]
        assert (decision.attributes or {})[sc.WORKLOG_MESSAGE] == "Invoice found in the ledger"
        assert recording.tokens() == 7 * 15  # seven model calls, on pydantic-ai's own chat spans
        for agent in recording.counted(Kind.BOT):
            assert recording.attrs(agent)[sc.GEN_AI_AGENT_NAME] == recording.attrs(agent)[sc.BOT_NAME]
            assert recording.attrs(agent)[sc.GEN_AI_REQUEST_MODEL] == MODEL_NAME

    def test_explain_and_logs_show_the_session(self, recording: Recording) -> None:
        two_runs()
        wl.force_flush()
        (session,) = recording.cli_json("logs")
        assert session["workspace"] == "#support"
        assert set(session["bots"]) == {"triage_agent", "billing_agent", "tech_agent"}
        assert session["errors"] == 2
        log = recording.cli_json("explain")
        assert [(t["tool"], t["bot"], t["status"]) for t in log["tools"]] == [
            ("ask_billing", "triage_agent", "success"),
            ("lookup_invoice", "billing_agent", "success"),
            ("ask_tech", "triage_agent", "success"),
            ("restart_router", "tech_agent", "error"),
        ]
        assert [(h["from"], h["to"], [r["bot"] for r in h["received_by"]]) for h in log["handoffs"]] == [
            ("triage_agent", "billing_agent", ["billing_agent"]),
            ("triage_agent", "tech_agent", ["tech_agent"]),
        ]
        assert [(e["bot"], e["message"]) for e in log["entries"] if e["level"] == "decision"] == [
            ("billing_agent", "Invoice found in the ledger")
        ]

    def test_an_escalation_inside_a_tool_names_its_agent(self, recording: Recording) -> None:
        agent = Agent(calls("refund", {"amount": 500}), name="billing_agent")

        @agent.tool_plain
        def refund(amount: int) -> str:
            wl.escalate(f"Refund of {amount} needs approval")
            handed = wl.handoff("finance_agent", reason="large refund")
            return f"escalated by {handed.from_bot}"

        async def go() -> None:
            with wl.workspace("#support"):
                await agent.run("refund me")

        asyncio.run(go())
        escalation = recording.one("escalation")
        assert recording.attrs(escalation)[sc.BOT_NAME] == "billing_agent"
        tool = recording.one("execute_tool refund", "pydantic-ai")
        assert recording.attrs(tool)[sc.GEN_AI_TOOL_CALL_RESULT] == '"escalated by billing_agent"'

    def test_token_usage_reaches_analytics_and_the_cost_detector(self, tmp_path: Path) -> None:
        # triage: two model calls per run; billing two; tech one, then its tool fails the run.
        assert_usage_is_analysed(
            tmp_path / "worklog.db", two_runs, {"triage_agent": 60, "billing_agent": 30, "tech_agent": 15}
        )

    def test_the_next_run_starts_a_trace_of_its_own(self, recording: Recording) -> None:
        two_runs()
        assert_nothing_current()
        assert_next_root_has_no_parent(recording, lambda: asyncio.run(triage("billing").run("my invoice?")))


@pytest.mark.parametrize("order", ORDERS)
class TestBesideOpenInference:
    """OpenInference's pydantic-ai instrumentation: a span processor that enriches pydantic-ai's own spans.

    OpenLLMetry has no pydantic-ai instrumentor to test beside.
    """

    def test_each_agent_and_tool_counts_once(self, tmp_path: Path, order: str) -> None:
        module = require("openinference.instrumentation.pydantic_ai", "framework-peers")
        provider = TracerProvider()
        if order == "peer-first":
            provider.add_span_processor(module.OpenInferenceSpanProcessor())
        with recording_into(tmp_path / "worklog.db", provider) as recording:
            if order == "worklog-first":
                provider.add_span_processor(module.OpenInferenceSpanProcessor())
            two_runs()
            assert_nothing_current()
            assert any("openinference.span.kind" in recording.attrs(s) for s in recording.spans()), "peer did nothing"
            assert recording.bots() == ["triage_agent", "billing_agent", "triage_agent", "tech_agent"]
            assert recording.tools() == TOOLS
            assert recording.handoffs() == [
                "handoff triage_agent -> billing_agent",
                "handoff triage_agent -> tech_agent",
            ]
            assert recording.failures() == ["invoke_agent tech_agent", "execute_tool restart_router"]
            assert recording.tokens() == 7 * 15
            wl.force_flush()
            (session,) = recording.cli_json("logs")
            assert session["errors"] == 2
            log = recording.cli_json("explain")
            assert [(t["tool"], t["bot"]) for t in log["tools"]] == TOOLS
            assert recording.alerts == []
            # The peer enriches pydantic-ai's own agent span in place: the one span carries the handoff link.
            billing_span = recording.one("invoke_agent billing_agent", "pydantic-ai")
            assert recording.attrs(billing_span)["openinference.span.kind"] == "AGENT"
            handoff = recording.one("handoff triage_agent -> billing_agent")
            assert [link.context.span_id for link in billing_span.links] == [handoff.context.span_id]
            assert_next_root_has_no_parent(recording, lambda: asyncio.run(triage("billing").run("my invoice?")))


class TestInstrumentation:
    def test_instrument_twice_records_once_and_uninstrument_stops(self, recording: Recording) -> None:
        wl_pydantic_ai.instrument()
        asyncio.run(billing.run("invoice?"))
        assert recording.tools() == [("lookup_invoice", "billing_agent")]
        wl_pydantic_ai.uninstrument()
        wl_pydantic_ai.uninstrument()
        recording.exporter.clear()
        asyncio.run(billing.run("invoice?"))
        assert recording.spans() == []

    def test_settings_the_app_chose_are_kept(self, recording: Recording) -> None:
        from pydantic_ai.models.instrumented import InstrumentationSettings

        wl_pydantic_ai.uninstrument()
        chosen = InstrumentationSettings(tracer_provider=recording.provider, include_content=True)
        Agent.instrument_all(chosen)
        try:
            wl_pydantic_ai.instrument()
            assert Agent._instrument_default is chosen
            asyncio.run(billing.run("invoice?"))
            assert recording.bots() == ["billing_agent"]
        finally:
            wl_pydantic_ai.uninstrument()
            Agent.instrument_all(False)

    def test_spans_go_to_the_tracer_provider_given(self, recording: Recording) -> None:
        provider, own = separate_provider()
        wl_pydantic_ai.uninstrument()
        wl_pydantic_ai.instrument(tracer_provider=provider)
        asyncio.run(billing.run("invoice?"))
        names = [s.name for s in own.get_finished_spans()]
        assert "invoke_agent billing_agent" in names and "execute_tool lookup_invoice" in names
        assert recording.spans() == []

    def test_tool_content_is_truncated_like_wl_tool(self, tmp_path: Path) -> None:
        def lookup(invoice_id: str) -> str:
            return "paid " * 100

        agent = Agent(calls("lookup_invoice", {"invoice_id": "I" * 100}), name="billing_agent")
        agent.tool_plain(name="lookup_invoice")(lookup)
        with recording_into(tmp_path / "worklog.db", max_value_length=40) as recording:
            with wl.workspace("#support"):
                asyncio.run(agent.run("invoice?"))
                with wl.bot("billing_agent"):
                    wl.tool(lookup)(invoice_id="I" * 100)
            assert_truncated_like_wl_tool(recording, "lookup_invoice", "pydantic-ai")
