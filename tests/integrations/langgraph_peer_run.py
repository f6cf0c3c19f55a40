"""The LangGraph support app beside a peer's LangChain instrumentor, in a process of its own.

OpenLLMetry's ``uninstrument()`` leaves its LangGraph wrappers in place, so every (peer, order)
pair runs in a fresh interpreter: ``python -m tests.integrations.langgraph_peer_run PEER ORDER MODE STORE
[--next-run]`` prints what was recorded as JSON (with ``--next-run``, whether a later run starts its own trace).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline.detectors.alerts import Alert
from otel_worklog._internal.record.scope import current_scope
from otel_worklog.integrations import langgraph as wl_langgraph
from tests.integrations.conftest import Recording, assert_next_root_has_no_parent, scope_of
from tests.integrations.langgraph_app import run, two_runs


def main(peer_name: str, order: str, mode: str, store: str, next_run: bool = False) -> None:
    if peer_name == "openinference":
        from openinference.instrumentation.langchain import LangChainInstrumentor

        instrumentor = LangChainInstrumentor()
    else:
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor

        instrumentor = LangchainInstrumentor()
    recording = Recording(store=Path(store))
    wl.configure(
        tracer_provider=recording.provider,
        exporters=[recording.exporter],
        store=store,
        detectors={"tool_loop": {"threshold": 2}},
    )
    alerts: list[Alert] = []
    wl.on_alert(alerts.append)
    if order == "worklog-first":
        wl_langgraph.instrument()
    instrumentor.instrument(tracer_provider=recording.provider)
    wl_langgraph.instrument()
    two_runs(mode)
    from opentelemetry import trace

    nothing_current = not trace.get_current_span().get_span_context().is_valid and current_scope() is None
    spans = recording.spans()
    others = [s for s in spans if scope_of(s) != sc.INSTRUMENTATION_SCOPE]
    peer_tools = [s for s in others if "lookup_invoice" in s.name]
    linked = {}
    for receiver in ("billing_agent", "tech_agent"):
        ours = recording.one(f"invoke_agent {receiver}")
        handoff = recording.one(f"handoff triage_agent -> {receiver}")
        copies = [
            s for s in others if recording.attrs(s).get(sc.WORKLOG_DUPLICATE_OF) == f"{ours.context.span_id:016x}"
        ]
        linked[receiver] = [
            [link.context.span_id == handoff.context.span_id for link in s.links]
            for s in copies
            if s.name.endswith(receiver)  # the peer's span of the agent (not of its steps or model calls)
        ]
    summary = {
        "linked": linked,
        "tools": recording.tools(),
        "bots": recording.bots(),
        "handoffs": recording.handoffs(),
        "failures": recording.failures(),
        "tokens": recording.tokens(),
        "nothing_current": nothing_current,
        "peer_spans": len(others),
        "without_workspace": [s.name for s in spans if recording.attrs(s).get(sc.WORKSPACE_ID) != "#support"],
        "peer_tools": [
            [recording.attrs(s).get(sc.BOT_NAME), sc.WORKLOG_DUPLICATE_OF in recording.attrs(s)] for s in peer_tools
        ],
        "alerts": [alert.kind for alert in alerts],
    }
    if next_run:  # a third run, outside the workspace (a session of its own in the store)
        try:
            assert_next_root_has_no_parent(recording, lambda: run("billing_agent", mode))
            summary["next_root"] = "ok"
        except AssertionError as exc:
            summary["next_root"] = str(exc)
    print(json.dumps(summary))
    wl.shutdown()


if __name__ == "__main__":
    peer_name, order, mode, store = sys.argv[1:5]
    main(peer_name, order, mode, store, next_run="--next-run" in sys.argv[5:])
