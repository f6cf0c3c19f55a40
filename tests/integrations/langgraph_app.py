"""The LangGraph support app: a supervisor (triage) hands work to billing and tech, with LangChain's fake chat model."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.prebuilt import ToolNode, create_react_agent
from langgraph_supervisor import create_supervisor

import otel_worklog as wl

__all__ = ["MODEL", "TURNS", "FakeChat", "create_react_agent", "run", "say", "support_app", "two_runs"]

USAGE = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
MODEL = "gpt-4o-mini"


class FakeChat(GenericFakeChatModel):
    """The fake chat model, accepting tools as a real one does."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> FakeChat:
        return self


def say(text: str = "", *, call: str | None = None, args: dict[str, Any] | None = None) -> AIMessage:
    tool_calls = [{"name": call, "args": args or {}, "id": f"call-{call}"}] if call else []
    return AIMessage(
        content=text,
        tool_calls=tool_calls,  # type: ignore[arg-type]
        usage_metadata=USAGE,  # type: ignore[arg-type]
        response_metadata={"model_name": MODEL},  # as LangChain's OpenAI chat model reports it
    )


@tool
def lookup_invoice(invoice_id: str, api_key: str) -> str:
    """Look up an invoice."""
    wl.decision("Invoice found in the ledger", confidence=0.9)
    return f"invoice {invoice_id}: paid"


@tool
def restart_router(router_id: str) -> str:
    """Restart a router."""
    raise RuntimeError("router unreachable")


def support_app(to: str) -> Any:
    billing = create_react_agent(
        FakeChat(
            messages=iter(
                [
                    say(
                        call="lookup_invoice", args={"invoice_id": "INV-1", "api_key": "sk-live-abcdefghijklmnopqrstuv"}
                    ),
                    say("Paid."),
                ]
            )
        ),
        [lookup_invoice],
        name="billing_agent",
    )
    tech = create_react_agent(
        FakeChat(messages=iter([say(call="restart_router", args={"router_id": "R1"}), say("Down.")])),
        ToolNode([restart_router], handle_tool_errors=True),  # the error goes back to the model, as in the SDKs
        name="tech_agent",
    )
    triage = FakeChat(messages=iter([say(call=f"transfer_to_{to}"), say("Done.")]))
    return create_supervisor([billing, tech], model=triage, supervisor_name="triage_agent").compile()


def run(to: str, mode: str = "invoke") -> None:
    app = support_app(to)
    question = {"messages": [("user", "help")]}
    if mode == "invoke":
        app.invoke(question)
    elif mode == "stream":
        for _ in app.stream(question):
            pass
    else:

        async def go() -> None:
            async for _ in app.astream(question):
                pass

        asyncio.run(go())


def two_runs(mode: str = "invoke") -> None:
    with wl.workspace("#support"):
        run("billing_agent", mode)
        run("tech_agent", mode)


#: The bot turns of the two runs: the supervisor takes the work back after each worker.
TURNS = ["triage_agent", "billing_agent", "triage_agent", "triage_agent", "tech_agent", "triage_agent"]
