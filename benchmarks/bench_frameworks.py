"""What recording a framework's work costs per tool call (plain script: python benchmarks/bench_frameworks.py).

One agent is driven through 500 tool calls by its framework's own test model (OpenAI Agents'
``ScriptedModel``, LangChain's fake chat model), in one process, in rounds, the cases interleaved:

- ``none``: the framework alone (no trace processor, no callback handler);
- ``otel_worklog``: ``wl.configure()`` (spans through the bounded batch processor to an exporter that
  discards them) and the integration's ``instrument()``;
- ``openinference``: OpenInference's instrumentor for the framework, its spans through the SDK's
  ``BatchSpanProcessor`` to the same discarding exporter.

Reported: the median CPU time of this process (all its threads, the exporters' too) per case, and
each instrumentation's added cost per tool call (its median minus the median without
instrumentation, over 500). Target: otel_worklog's added cost per tool call is at most OpenInference's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import otel_worklog as wl

TOOL_CALLS = 500
#: The 500 calls are made by 50 runs of 10: a run's history, which the model is shown at every turn,
#: stays as short as in a real conversation (one run of 500 turns spends its time copying history).
CALLS_PER_RUN = 10
ROUNDS = 9


class Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class Case:
    """One way to run the app: set up, run (timed), tear down."""

    def __init__(
        self, name: str, setup: Callable[[], Any], teardown: Callable[[], Any], rounds: int | None = None
    ) -> None:
        self.name = name
        self.setup = setup
        self.teardown = teardown
        #: At most this many timed runs, and no warm-up (for a case so slow that noise does not matter).
        self.rounds = rounds
        self.times: list[float] = []


def measure(run: Callable[[], None], cases: list[Case], rounds: int) -> dict[str, float]:
    """Median seconds of one run per case, interleaved round by round in rotating order (after a warm-up each)."""
    for case in cases:
        if case.rounds is None:
            case.setup()
            run()
            case.teardown()
    for round_number in range(rounds):
        shift = round_number % len(cases)  # each case takes each place in the round in turn
        for case in cases[shift:] + cases[:shift]:
            if case.rounds is not None and len(case.times) >= case.rounds:
                continue
            case.setup()
            gc.collect()
            start = time.process_time()  # this process's CPU (all its threads): busy neighbours do not count
            run()
            case.times.append(time.process_time() - start)
            case.teardown()
    return {case.name: statistics.median(case.times) for case in cases}


def worklog_case(name: str, instrument: Callable[[], None], uninstrument: Callable[[], None]) -> Case:
    provider = TracerProvider()

    def setup() -> None:
        wl.configure(tracer_provider=provider, exporters=[Discard()], store=False)
        instrument()

    def teardown() -> None:
        uninstrument()
        wl.force_flush()
        wl.shutdown()

    return Case(name, setup, teardown)


def peer_case(name: str, instrumentor: Any, rounds: int | None = None) -> Case:
    provider = TracerProvider()
    processor = BatchSpanProcessor(Discard())
    provider.add_span_processor(processor)

    def setup() -> None:
        instrumentor.instrument(tracer_provider=provider)

    def teardown() -> None:
        instrumentor.uninstrument()
        processor.force_flush()

    return Case(name, setup, teardown, rounds)


# --- OpenAI Agents SDK -----------------------------------------------------------------------------
def openai_agents_cases(rounds: int) -> dict[str, float]:
    from agents import Agent, Runner, function_tool
    from agents.testing import ScriptedModel, assistant_message, function_call
    from agents.tracing import set_trace_processors
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    from otel_worklog.integrations import openai_agents

    @function_tool
    def lookup_invoice(invoice_id: str) -> str:
        """Look up an invoice."""
        return f"invoice {invoice_id}: paid"

    async def one_run() -> None:
        steps: list[Any] = [
            [function_call("lookup_invoice", {"invoice_id": f"INV-{i}"}, call_id=f"c{i}")] for i in range(CALLS_PER_RUN)
        ]
        agent = Agent(
            name="billing_agent", tools=[lookup_invoice], model=ScriptedModel([*steps, [assistant_message("Paid.")]])
        )
        await Runner.run(agent, "invoices?", max_turns=CALLS_PER_RUN + 5)

    async def runs() -> None:
        for _ in range(TOOL_CALLS // CALLS_PER_RUN):
            await one_run()

    def run() -> None:
        asyncio.run(runs())

    set_trace_processors([])
    cases = [
        Case("none", lambda: None, lambda: None),
        worklog_case("otel_worklog", openai_agents.instrument, openai_agents.uninstrument),
        peer_case("openinference", _OpenInferenceAgents(OpenAIAgentsInstrumentor(), set_trace_processors)),
    ]
    return measure(run, cases, rounds)


class _OpenInferenceAgents:
    """OpenInference's instrumentor; after it, the SDK's processor list is emptied again (no stale processor)."""

    def __init__(self, instrumentor: Any, set_trace_processors: Callable[[list[Any]], None]) -> None:
        self._instrumentor = instrumentor
        self._set = set_trace_processors

    def instrument(self, **kwargs: Any) -> None:
        self._instrumentor.instrument(**kwargs)

    def uninstrument(self) -> None:
        self._instrumentor.uninstrument()
        self._set([])


# --- LangGraph ---------------------------------------------------------------------------------------
def langgraph_cases(rounds: int) -> dict[str, float]:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool
    from openinference.instrumentation.langchain import LangChainInstrumentor

    from otel_worklog.integrations import langgraph

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from langgraph.prebuilt import create_react_agent

    class FakeChat(GenericFakeChatModel):
        def bind_tools(self, tools: Any, **kwargs: Any) -> FakeChat:
            return self

    @tool
    def lookup_invoice(invoice_id: str) -> str:
        """Look up an invoice."""
        return f"invoice {invoice_id}: paid"

    def run() -> None:
        messages = [
            AIMessage(
                content="", tool_calls=[{"name": "lookup_invoice", "args": {"invoice_id": f"INV-{i}"}, "id": f"c{i}"}]
            )
            for i in range(TOOL_CALLS)
        ]
        agent = create_react_agent(FakeChat(messages=iter([*messages, AIMessage("Paid.")])), [lookup_invoice])
        agent.invoke({"messages": [("user", "invoices?")]}, {"recursion_limit": 2 * TOOL_CALLS + 10})

    cases = [
        Case("none", lambda: None, lambda: None),
        worklog_case("otel_worklog", langgraph.instrument, langgraph.uninstrument),
        # OpenInference's LangChain tracer takes minutes over 500 LangGraph tool calls: timed once.
        peer_case("openinference", LangChainInstrumentor(), rounds=1),
    ]
    return measure(run, cases, rounds)


def report(framework: str, medians: dict[str, float]) -> bool:
    base = medians["none"]
    added = {name: (value - base) / TOOL_CALLS * 1e6 for name, value in medians.items() if name != "none"}
    print(f"{framework}: {TOOL_CALLS} tool calls ({CALLS_PER_RUN} per run), median of each case")
    for name, value in medians.items():
        extra = f"  (+{added[name]:.1f} us per tool call)" if name in added else ""
        print(f"  {name:14} {value * 1000:9.1f} ms{extra}")
    ok = added["otel_worklog"] <= added["openinference"]
    print(f"  target otel_worklog <= openinference per tool call: {'met' if ok else 'MISSED'}")
    return ok


def main() -> int:
    warnings.simplefilter("ignore")  # LangGraph 1.x deprecation notices on every create_react_agent
    logging.getLogger("opentelemetry.attributes").setLevel(logging.ERROR)  # OpenInference's oversized attributes
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--framework", choices=["openai-agents", "langgraph", "all"], default="all")
    args = parser.parse_args()
    ok = True
    if args.framework in ("openai-agents", "all"):
        ok = report("OpenAI Agents SDK", openai_agents_cases(args.rounds)) and ok
    if args.framework in ("langgraph", "all"):
        ok = report("LangGraph", langgraph_cases(args.rounds)) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
