"""A handoff to a bot in another process: one trace across two real Python processes.

The sending bot runs here; ``h.carrier`` travels as JSON on the command line to a
second interpreter (``handoff_child.py``), which runs ``wl.bot("coder", handoff=...)``
and exports over OTLP/HTTP to the same real receiver. A user checks that the
receiving bot's spans join the sender's trace under the handoff span, link to it,
and still carry the workspace, even though that process never saw the workspace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from tests.wire.conftest import PointAt
from tests.wire.receivers import OtlpHttpReceiver, ReceivedSpan, attributes, wire_types

CHILD = Path(__file__).with_name("handoff_child.py")
WORKSPACE = "ws-cross"
CHILD_SERVICE = "coder-process"


@dataclass
class Child:
    result: subprocess.CompletedProcess[str]
    spans: dict[str, ReceivedSpan]
    printed: dict[str, str]


def send_handoff(receiver: OtlpHttpReceiver, point_at: PointAt) -> tuple[wl.Handoff, dict[str, ReceivedSpan]]:
    """The planner, in this process, hands off to the coder; returns the handoff and the sender's spans."""
    point_at(receiver.endpoint, "http/protobuf", OTEL_SERVICE_NAME="planner-process")
    wl.configure(store=False)
    with wl.workspace(WORKSPACE, type="project", participants=["planner", "coder"]):
        with wl.bot("planner"):
            wl.decision("The plan is ready", confidence=0.9)
            handoff = wl.handoff("coder", artifacts=["plan.md"], reason="plan ready")
    assert wl.force_flush(10.0)
    assert receiver.wait_for_spans(3, 10.0) == 3
    return handoff, {s.name: s for s in receiver.spans()}


def run_child(receiver: OtlpHttpReceiver, carrier: str, *options: str) -> Child:
    """Run the receiving bot in a fresh interpreter and collect the spans it exported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_SERVICE_NAME=CHILD_SERVICE,
    )
    before = receiver.span_count
    result = subprocess.run(
        [sys.executable, str(CHILD), carrier, *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert result.returncode == 0, result.stderr
    assert receiver.wait_for_spans(before + 2, 10.0) == before + 2
    spans = {s.name: s for s in receiver.spans() if s.resource_attributes.get("service.name") == CHILD_SERVICE}
    return Child(result, spans, json.loads(result.stdout.strip().splitlines()[-1]))


CODER = sc.SPAN_INVOKE_AGENT.format(name="coder")
TOOL = sc.SPAN_EXECUTE_TOOL.format(name="write_code")
HANDOFF = sc.SPAN_HANDOFF.format(from_bot="planner", to_bot="coder")


def test_carrier_is_plain_json_of_w3c_headers(http_receiver: OtlpHttpReceiver, point_at: PointAt) -> None:
    """h.carrier is a dict of strings with traceparent and baggage, so it survives any JSON transport."""
    handoff, _ = send_handoff(http_receiver, point_at)
    assert json.loads(json.dumps(handoff.carrier)) == handoff.carrier
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in handoff.carrier.items())
    assert {"traceparent", "baggage"} <= set(handoff.carrier)


def test_receiving_bot_in_another_process_continues_the_trace(
    http_receiver: OtlpHttpReceiver, point_at: PointAt
) -> None:
    """Same trace id, parent = the handoff span, a handoff link, and workspace/bot on the child's spans."""
    handoff, sender = send_handoff(http_receiver, point_at)
    child = run_child(http_receiver, json.dumps(handoff.carrier))
    handoff_span = sender[HANDOFF].span
    coder = child.spans[CODER]

    assert set(child.spans) == {CODER, TOOL}
    assert coder.span.trace_id == handoff_span.trace_id
    assert child.printed["trace_id"] == handoff_span.trace_id.hex()
    assert coder.span.parent_span_id == handoff_span.span_id
    (link,) = coder.span.links
    assert (link.trace_id, link.span_id) == (handoff_span.trace_id, handoff_span.span_id)
    assert attributes(link.attributes) == {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF}
    assert coder.attributes[sc.BOT_TRIGGERED_BY] == "planner"
    assert sc.WORKLOG_HANDOFF_INVALID not in coder.attributes

    tool = child.spans[TOOL]
    assert tool.span.trace_id == handoff_span.trace_id
    assert tool.span.parent_span_id == coder.span.span_id
    for span in child.spans.values():
        assert span.attributes[sc.WORKSPACE_ID] == WORKSPACE, span.name
        assert span.attributes[sc.BOT_NAME] == "coder", span.name


def test_step_numbers_continue_after_the_handoff_in_the_other_process(
    http_receiver: OtlpHttpReceiver, point_at: PointAt
) -> None:
    """The child's first entry is numbered right after the handoff, so the work log reads in order."""
    handoff, _ = send_handoff(http_receiver, point_at)
    child = run_child(http_receiver, json.dumps(handoff.carrier))
    (entry,) = [attributes(e.attributes) for e in child.spans[CODER].span.events]
    assert entry[sc.WORKLOG_MESSAGE] == "Picked up the handoff"
    assert entry[sc.WORKLOG_STEP] == handoff.step + 1


def test_new_trace_handoff_only_links(http_receiver: OtlpHttpReceiver, point_at: PointAt) -> None:
    """With new_trace=True the late work starts its own trace, with only a link back to the handoff."""
    handoff, sender = send_handoff(http_receiver, point_at)
    child = run_child(http_receiver, json.dumps(handoff.carrier), "--new-trace")
    handoff_span = sender[HANDOFF].span
    coder = child.spans[CODER]

    assert coder.span.trace_id != handoff_span.trace_id
    assert coder.span.parent_span_id == b""
    (link,) = coder.span.links
    assert (link.trace_id, link.span_id) == (handoff_span.trace_id, handoff_span.span_id)
    assert attributes(link.attributes) == {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF}
    assert child.spans[TOOL].span.trace_id == coder.span.trace_id
    for span in child.spans.values():
        assert span.attributes[sc.WORKSPACE_ID] == WORKSPACE, span.name
        assert span.attributes[sc.BOT_NAME] == "coder", span.name


@pytest.mark.parametrize(
    "garbage",
    [
        "this is not JSON {",
        "",
        "[1, 2, 3]",
        "42",
        '{"traceparent": "00-not-a-trace-id-01"}',
        '{"traceparent": 42, "baggage": null}',
        '{"traceparent": "00-00000000000000000000000000000000-0000000000000000-01"}',
    ],
    ids=["not-json", "empty", "list", "number", "bad-traceparent", "wrong-types", "all-zero-ids"],
)
def test_garbage_carrier_still_exports_the_bot(http_receiver: OtlpHttpReceiver, garbage: str) -> None:
    """A garbage carrier: the bot span is still exported, flagged invalid, a warning is logged, nothing raises."""
    child = run_child(http_receiver, garbage, "--raw")
    coder = child.spans[CODER]

    assert coder.attributes[sc.WORKLOG_HANDOFF_INVALID] is True
    assert wire_types(coder.span.attributes)[sc.WORKLOG_HANDOFF_INVALID] == "bool_value"
    assert list(coder.span.links) == []
    assert coder.span.parent_span_id == b""
    assert coder.attributes[sc.BOT_NAME] == "coder"
    assert child.spans[TOOL].span.parent_span_id == coder.span.span_id
    warnings = [line for line in child.result.stderr.splitlines() if line.startswith("WARNING otel_worklog")]
    assert any("handoff" in line for line in warnings), child.result.stderr
    assert "Traceback" not in child.result.stderr
