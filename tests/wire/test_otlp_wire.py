"""What a collector receives: the OTLP export decoded byte for byte by real receivers.

A user points the standard OTEL_* variables at a collector and calls
``wl.configure(store=False)``. These tests play one workspace (two bots, tools,
entries, an escalation, a handoff) and check the protobuf that arrives over
OTLP/HTTP and OTLP/gRPC: span names, attribute keys with their wire types,
events, the handoff link, the resource and the configured headers.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from tests.wire.conftest import PointAt
from tests.wire.receivers import OtlpGrpcReceiver, OtlpHttpReceiver, ReceivedSpan, Receiver, attributes, wire_types

WORKSPACE = "ws-wire"
PROTOCOLS = ["http/protobuf", "grpc"]


@wl.tool
def search(query: str, limit: int = 3) -> list[str]:
    return [f"{query} result {i}" for i in range(limit)]


@wl.tool
def read_file(path: str) -> str:
    raise FileNotFoundError(path)


@dataclass
class Played:
    handoff: wl.Handoff
    escalation: wl.Escalation
    decision_step: int


def play_workspace() -> Played:
    """The work of one workspace, as a user's bots would record it."""
    with wl.workspace(
        WORKSPACE,
        type="project",
        participants=["planner", "coder"],
        coordinator="planner",
        query="Ship the wire test",
        estimated_duration_s=90,
    ):
        with wl.bot("planner", role="coordinator"):
            wl.thinking("Reading the request")
            step = wl.decision(
                "Search before planning",
                confidence=0.92,
                details={"attempt": 2, "ratio": 0.25, "urgent": True, "tags": ["a", "b"]},
                mentions=["coder", "reviewer"],
            )
            wl.decision("Guessing the file layout", confidence=0.4)
            search("otel", limit=2)
            with pytest.raises(FileNotFoundError):
                read_file("missing.txt")
            wl.insight("Search first saves a round trip", category="tool_pattern", confidence=0.9, applies_to=["coder"])
            escalation = wl.escalate("Needs a human to approve the budget", details={"cost": 12.5})
            escalation.resolve("approved")
            handoff = wl.handoff("coder", artifacts=["plan.md", "notes.txt"], reason="plan ready")
        with wl.bot("coder", handoff=handoff):
            wl.message("Got the plan, starting", mentions=["planner"], response_to=step)
    return Played(handoff, escalation, step)


Exported = tuple[str, Receiver, Played]

EXPECTED_SPANS = {
    sc.SPAN_WORKSPACE.format(workspace_id=WORKSPACE),
    sc.SPAN_INVOKE_AGENT.format(name="planner"),
    sc.SPAN_EXECUTE_TOOL.format(name="search"),
    sc.SPAN_EXECUTE_TOOL.format(name="read_file"),
    sc.ESCALATION_SPAN_NAME,
    sc.SPAN_HANDOFF.format(from_bot="planner", to_bot="coder"),
    sc.SPAN_INVOKE_AGENT.format(name="coder"),
}


@pytest.fixture(params=PROTOCOLS)
def exported(request: pytest.FixtureRequest, point_at: PointAt) -> Exported:
    """Play the workspace with OTEL_* pointing at a real receiver of the given protocol."""
    protocol: str = request.param
    receiver = request.getfixturevalue("grpc_receiver" if protocol == "grpc" else "http_receiver")
    point_at(
        receiver.endpoint,
        protocol,
        OTEL_SERVICE_NAME=f"wire-bots-{protocol.replace('/', '-')}",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=wire-test,team.name=bots",
        OTEL_EXPORTER_OTLP_HEADERS="x-wire-token=abc123,x-team=bots",
    )
    wl.configure(store=False)
    played = play_workspace()
    assert wl.force_flush(10.0)
    assert receiver.wait_for_spans(len(EXPECTED_SPANS), 10.0) == len(EXPECTED_SPANS)
    return protocol, receiver, played


def by_name(receiver: Receiver) -> dict[str, ReceivedSpan]:
    spans = receiver.spans()
    found = {s.name: s for s in spans}
    assert len(found) == len(spans), f"duplicate span names: {[s.name for s in spans]}"
    return found


def events(span: ReceivedSpan, name: str) -> list[dict[str, object]]:
    return [attributes(e.attributes) for e in span.span.events if e.name == name]


def test_every_span_arrives_once_under_the_otel_worklog_scope(exported: Exported) -> None:
    """The collector gets exactly the workspace's seven spans, each once, under scope ``otel_worklog``."""
    _, receiver, _ = exported
    spans = by_name(receiver)
    assert set(spans) == EXPECTED_SPANS
    assert {s.scope_name for s in spans.values()} == {sc.INSTRUMENTATION_SCOPE}
    for span in spans.values():
        assert len(span.span.trace_id) == 16 and len(span.span.span_id) == 8


def test_resource_comes_from_otel_service_name_and_resource_attributes(exported: Exported) -> None:
    """service.name is OTEL_SERVICE_NAME; OTEL_RESOURCE_ATTRIBUTES pairs ride along as strings."""
    protocol, receiver, _ = exported
    resources = {tuple(sorted(s.resource_attributes.items())) for s in receiver.spans()}
    assert len(resources) == 1
    resource = dict(next(iter(resources)))
    assert resource["service.name"] == f"wire-bots-{protocol.replace('/', '-')}"
    assert resource["deployment.environment"] == "wire-test"
    assert resource["team.name"] == "bots"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-resource-attributes"}, "from-resource-attributes"),
        (
            {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-resource-attributes", "OTEL_SERVICE_NAME": "from-env"},
            "from-env",
        ),
    ],
    ids=["resource-attributes-only", "service-name-wins"],
)
def test_service_name_precedence_on_the_wire(
    http_receiver: OtlpHttpReceiver, point_at: PointAt, env: dict[str, str], expected: str
) -> None:
    """service.name may come from OTEL_RESOURCE_ATTRIBUTES alone; OTEL_SERVICE_NAME wins when both are set."""
    point_at(http_receiver.endpoint, "http/protobuf", **env)
    wl.configure(store=False)
    with wl.workspace("ws-resource"):
        wl.info("hello")
    assert wl.force_flush(10.0)
    assert http_receiver.wait_for_spans(1, 10.0) == 1
    (span,) = http_receiver.spans()
    assert span.resource_attributes["service.name"] == expected


def test_otlp_headers_arrive_as_request_headers_or_metadata(exported: Exported) -> None:
    """OTEL_EXPORTER_OTLP_HEADERS reach the collector on every request (HTTP headers, gRPC metadata)."""
    _, receiver, _ = exported
    requests = receiver.requests
    assert requests
    for request in requests:
        assert request.headers.get("x-wire-token") == "abc123"
        assert request.headers.get("x-team") == "bots"


def test_workspace_and_bot_are_stamped_on_every_span(exported: Exported) -> None:
    """Any span can be filtered by workspace.id; every span inside a bot also by bot.name."""
    _, receiver, _ = exported
    spans = by_name(receiver)
    for name, span in spans.items():
        assert span.attributes[sc.WORKSPACE_ID] == WORKSPACE, name
    workspace_name = sc.SPAN_WORKSPACE.format(workspace_id=WORKSPACE)
    assert sc.BOT_NAME not in spans[workspace_name].attributes
    coder = sc.SPAN_INVOKE_AGENT.format(name="coder")
    for name, span in spans.items():
        if name not in (workspace_name, coder):
            assert span.attributes[sc.BOT_NAME] == "planner", name
    assert spans[coder].attributes[sc.BOT_NAME] == "coder"


def test_workspace_and_bot_attributes_keep_their_wire_types(exported: Exported) -> None:
    """Strings stay strings, participants a string array, the estimate a double."""
    _, receiver, _ = exported
    spans = by_name(receiver)
    workspace = spans[sc.SPAN_WORKSPACE.format(workspace_id=WORKSPACE)]
    assert workspace.attributes[sc.WORKSPACE_TYPE] == "project"
    assert workspace.attributes[sc.WORKSPACE_PARTICIPANTS] == ["planner", "coder"]
    assert workspace.attributes[sc.WORKSPACE_COORDINATOR] == "planner"
    assert workspace.attributes[sc.WORKLOG_QUERY] == "Ship the wire test"
    assert workspace.attributes[sc.WORKSPACE_ESTIMATED_DURATION_S] == 90.0
    types = wire_types(workspace.span.attributes)
    assert types[sc.WORKSPACE_PARTICIPANTS] == "array_value[string_value]"
    assert types[sc.WORKSPACE_ESTIMATED_DURATION_S] == "double_value"
    assert types[sc.WORKSPACE_ID] == "string_value"

    planner = spans[sc.SPAN_INVOKE_AGENT.format(name="planner")]
    assert planner.attributes[sc.BOT_ROLE] == "coordinator"
    assert planner.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_INVOKE_AGENT
    assert planner.attributes[sc.GEN_AI_AGENT_NAME] == "planner"
    assert planner.attributes[sc.WORKLOG_LOW_CONFIDENCE] is True
    assert wire_types(planner.span.attributes)[sc.WORKLOG_LOW_CONFIDENCE] == "bool_value"


def test_entries_are_events_with_typed_attributes(exported: Exported) -> None:
    """worklog.step is an int, confidence a double, mentions a string array, details flattened and typed."""
    _, receiver, played = exported
    planner = by_name(receiver)[sc.SPAN_INVOKE_AGENT.format(name="planner")]
    names = [e.name for e in planner.span.events]
    assert sc.event_name("thinking") in names
    (decision_event,) = [e for e in planner.span.events if e.name == sc.event_name("decision")]
    values = attributes(decision_event.attributes)
    assert values[sc.WORKLOG_LEVEL] == "decision"
    assert values[sc.WORKLOG_CATEGORY] == sc.CATEGORY_GENERAL
    assert values[sc.WORKLOG_MESSAGE] == "Search before planning"
    assert values[sc.WORKLOG_STEP] == played.decision_step
    assert values[sc.WORKLOG_CONFIDENCE] == pytest.approx(0.92)
    assert values[sc.WORKLOG_MENTIONS] == ["coder", "reviewer"]
    details = sc.WORKLOG_DETAILS_PREFIX
    assert values[details + "attempt"] == 2
    assert values[details + "ratio"] == 0.25
    assert values[details + "urgent"] is True
    assert json.loads(values[details + "tags"]) == ["a", "b"]
    types = wire_types(decision_event.attributes)
    assert types[sc.WORKLOG_STEP] == "int_value"
    assert types[sc.WORKLOG_CONFIDENCE] == "double_value"
    assert types[sc.WORKLOG_MENTIONS] == "array_value[string_value]"
    assert types[details + "attempt"] == "int_value"
    assert types[details + "ratio"] == "double_value"
    assert types[details + "urgent"] == "bool_value"
    assert types[details + "tags"] == "string_value"


def test_low_confidence_decision_arrives_as_uncertainty(exported: Exported) -> None:
    """A decision at 0.4 confidence is exported as a ``worklog.uncertainty`` event flagged from decision."""
    _, receiver, _ = exported
    planner = by_name(receiver)[sc.SPAN_INVOKE_AGENT.format(name="planner")]
    (flagged,) = [e for e in planner.span.events if e.name == sc.event_name("uncertainty")]
    values = attributes(flagged.attributes)
    assert values[sc.WORKLOG_LEVEL] == "uncertainty"
    assert values[sc.WORKLOG_FLAGGED_FROM] == "decision"
    assert values[sc.WORKLOG_LOW_CONFIDENCE] is True
    assert values[sc.WORKLOG_CONFIDENCE] == pytest.approx(0.4)
    assert wire_types(flagged.attributes)[sc.WORKLOG_LOW_CONFIDENCE] == "bool_value"


def test_insight_event_carries_its_learning_exchange_fields(exported: Exported) -> None:
    """The insight is a ``worklog.insight`` event, shareable (bool) at 0.9 in a shareable category."""
    _, receiver, _ = exported
    planner = by_name(receiver)[sc.SPAN_INVOKE_AGENT.format(name="planner")]
    (insight,) = [e for e in planner.span.events if e.name == sc.EVENT_INSIGHT]
    values = attributes(insight.attributes)
    assert values[sc.WORKLOG_INSIGHT_CATEGORY] == "tool_pattern"
    assert values[sc.WORKLOG_INSIGHT_SCOPE] == "general"
    assert values[sc.WORKLOG_INSIGHT_SHAREABLE] is True
    assert values[sc.WORKLOG_INSIGHT_APPLIES_TO] == ["coder"]
    types = wire_types(insight.attributes)
    assert types[sc.WORKLOG_INSIGHT_SHAREABLE] == "bool_value"
    assert types[sc.WORKLOG_INSIGHT_APPLIES_TO] == "array_value[string_value]"
    assert types[sc.WORKLOG_CONFIDENCE] == "double_value"


def test_tool_spans_carry_json_arguments_result_and_status(exported: Exported) -> None:
    """A tool's arguments and result arrive as JSON strings; a failing tool has status ERROR and an exception."""
    _, receiver, _ = exported
    spans = by_name(receiver)
    ok = spans[sc.SPAN_EXECUTE_TOOL.format(name="search")]
    assert ok.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OPERATION_EXECUTE_TOOL
    assert ok.attributes[sc.GEN_AI_TOOL_NAME] == "search"
    assert json.loads(ok.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"query": "otel", "limit": 2}
    assert json.loads(ok.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == ["otel result 0", "otel result 1"]
    assert ok.attributes[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_SUCCESS
    assert ok.span.status.code != Status.STATUS_CODE_ERROR

    failed = spans[sc.SPAN_EXECUTE_TOOL.format(name="read_file")]
    assert failed.span.status.code == Status.STATUS_CODE_ERROR
    assert failed.attributes[sc.ERROR_TYPE] == "FileNotFoundError"
    assert failed.attributes[sc.WORKLOG_TOOL_STATUS] == sc.TOOL_STATUS_ERROR
    (exception,) = events(failed, "exception")
    assert exception["exception.type"] == "FileNotFoundError"
    assert "missing.txt" in str(exception["exception.message"])
    assert "Traceback" in str(exception["exception.stacktrace"])


def test_escalation_span_is_typed_and_resolved(exported: Exported) -> None:
    """worklog.escalation arrives as a protobuf bool, with reason, target and the coordination entry."""
    _, receiver, played = exported
    spans = by_name(receiver)
    escalation = spans[sc.ESCALATION_SPAN_NAME]
    assert escalation.attributes[sc.WORKLOG_ESCALATION] is True
    assert wire_types(escalation.span.attributes)[sc.WORKLOG_ESCALATION] == "bool_value"
    assert escalation.attributes[sc.WORKLOG_ESCALATION_REASON] == "Needs a human to approve the budget"
    assert escalation.attributes[sc.WORKLOG_ESCALATION_TARGET] == "user"
    (entry,) = events(escalation, sc.event_name("coordination"))
    assert entry[sc.WORKLOG_CATEGORY] == sc.CATEGORY_ESCALATION
    assert entry[sc.WORKLOG_STEP] == played.escalation.step
    assert entry[sc.WORKLOG_DETAILS_PREFIX + "cost"] == 12.5
    assert escalation.span.span_id.hex() == played.escalation.span_id

    planner = spans[sc.SPAN_INVOKE_AGENT.format(name="planner")]
    assert escalation.span.parent_span_id == planner.span.span_id
    (resolved,) = events(planner, sc.EVENT_ESCALATION_RESOLVED)
    assert resolved[sc.WORKLOG_ESCALATION_SPAN_ID] == played.escalation.span_id
    assert resolved[sc.WORKLOG_ESCALATION_RESOLUTION] == "approved"


def test_handoff_span_and_the_receiving_bots_link(exported: Exported) -> None:
    """The coder's span is a child of the handoff span and links to it with worklog.link.type=handoff."""
    _, receiver, played = exported
    spans = by_name(receiver)
    handoff = spans[sc.SPAN_HANDOFF.format(from_bot="planner", to_bot="coder")]
    assert handoff.attributes[sc.WORKLOG_HANDOFF_FROM] == "planner"
    assert handoff.attributes[sc.WORKLOG_HANDOFF_TO] == "coder"
    assert handoff.attributes[sc.WORKLOG_HANDOFF_ARTIFACTS] == ["plan.md", "notes.txt"]
    assert handoff.attributes[sc.WORKLOG_HANDOFF_REASON] == "plan ready"
    assert wire_types(handoff.span.attributes)[sc.WORKLOG_HANDOFF_ARTIFACTS] == "array_value[string_value]"
    (handoff_entry,) = events(handoff, sc.event_name("handoff"))
    assert handoff_entry[sc.WORKLOG_STEP] == played.handoff.step
    assert handoff.span.span_id.hex() == played.handoff.carrier["traceparent"].split("-")[2]

    coder = spans[sc.SPAN_INVOKE_AGENT.format(name="coder")]
    assert coder.span.trace_id == handoff.span.trace_id
    assert coder.span.parent_span_id == handoff.span.span_id
    (link,) = coder.span.links
    assert link.trace_id == handoff.span.trace_id
    assert link.span_id == handoff.span.span_id
    assert attributes(link.attributes) == {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF}
    assert wire_types(link.attributes)[sc.WORKLOG_LINK_TYPE] == "string_value"
    assert coder.attributes[sc.BOT_TRIGGERED_BY] == "planner"
    (message,) = events(coder, sc.event_name("info"))
    assert message[sc.WORKLOG_CATEGORY] == sc.CATEGORY_BOT_CONVERSATION
    assert message[sc.WORKLOG_RESPONSE_TO] == played.decision_step
    assert wire_types(coder.span.events[0].attributes)[sc.WORKLOG_RESPONSE_TO] == "int_value"


def test_all_spans_share_one_trace_with_a_consistent_tree(exported: Exported) -> None:
    """One trace; the workspace is the root and every other span's parent is a span of the trace."""
    _, receiver, _ = exported
    spans = by_name(receiver)
    assert len({s.span.trace_id for s in spans.values()}) == 1
    ids = {s.span.span_id for s in spans.values()}
    root = spans[sc.SPAN_WORKSPACE.format(workspace_id=WORKSPACE)]
    assert root.span.parent_span_id == b""
    for span in spans.values():
        if span is not root:
            assert span.span.parent_span_id in ids, span.name


def test_no_entry_attribute_is_lost_on_the_wire(http_receiver: OtlpHttpReceiver, point_at: PointAt) -> None:
    """Values OTLP cannot carry as they are (integers beyond 64 bits, NaN, bytes) still arrive, as text.

    The OTLP encoder silently drops an attribute it cannot encode (it logs and skips the key), so
    an in-memory test cannot see this; only the decoded protobuf can.
    """
    point_at(http_receiver.endpoint, "http/protobuf")
    wl.configure(store=False)
    details = {
        "int64_max": 2**63 - 1,
        "beyond_uint64": 2**64 + 1,
        "below_int64": -(2**63) - 1,
        "nan": float("nan"),
        "infinity": float("inf"),
        "raw": b"\x00\xff",
        "nested": {"id": 2**70},
    }
    with wl.workspace("ws-ranges"), wl.bot("counter"):
        wl.info("big numbers", details=details)
    assert wl.force_flush(10.0)
    assert http_receiver.wait_for_spans(2, 10.0) == 2
    bot = by_name(http_receiver)[sc.SPAN_INVOKE_AGENT.format(name="counter")]
    (entry,) = bot.span.events
    values, types = attributes(entry.attributes), wire_types(entry.attributes)
    for key in details:
        assert sc.WORKLOG_DETAILS_PREFIX + key in values, f"{key} was dropped on the wire"
    assert values[sc.WORKLOG_DETAILS_PREFIX + "int64_max"] == 2**63 - 1
    assert types[sc.WORKLOG_DETAILS_PREFIX + "int64_max"] == "int_value"
    assert str(2**64 + 1) in str(values[sc.WORKLOG_DETAILS_PREFIX + "beyond_uint64"])
    assert str(-(2**63) - 1) in str(values[sc.WORKLOG_DETAILS_PREFIX + "below_int64"])
    assert str(2**70) in str(values[sc.WORKLOG_DETAILS_PREFIX + "nested"])


@wl.tool
def list_files(directory: str) -> list[str]:
    # os.listdir on Linux returns names that are not UTF-8 with lone surrogates (PEP 383).
    return [os.fsdecode(b"report\xff.txt"), "notes.txt"]


def test_text_that_is_not_utf8_does_not_cost_the_batch(http_receiver: OtlpHttpReceiver, point_at: PointAt) -> None:
    """A file name that is not UTF-8 (a lone surrogate) in a message, a tool result or a workspace id.

    OTLP strings must be UTF-8; one such character makes protobuf encoding of the whole export
    request fail, which would lose every span of the batch, including other workspaces' spans.
    Every span must arrive, with the text still readable.
    """
    point_at(http_receiver.endpoint, "http/protobuf")
    wl.configure(store=False)
    name = os.fsdecode(b"report\xff.txt")
    with wl.workspace("ws-clean"), wl.bot("tidy"):
        wl.info("an ordinary entry in another workspace")
    with wl.workspace(f"ws-{name}"), wl.bot("filer"):
        files = list_files("/data")
        wl.decision(f"Open {files[0]}", confidence=0.9, details={"file": name, name: "as a key"})
    assert files[0] == name  # the tool's own result is untouched
    assert wl.force_flush(10.0)
    http_receiver.wait_for_spans(5, 10.0)
    names = sorted(s.name for s in http_receiver.spans())
    assert len(names) == 5, names
    assert sc.SPAN_WORKSPACE.format(workspace_id="ws-clean") in names
    filer = by_name(http_receiver)[sc.SPAN_INVOKE_AGENT.format(name="filer")]
    (decision,) = [attributes(e.attributes) for e in filer.span.events]
    assert "report" in str(decision[sc.WORKLOG_MESSAGE])
    assert "report" in str(decision[sc.WORKLOG_DETAILS_PREFIX + "file"])
    tool = by_name(http_receiver)[sc.SPAN_EXECUTE_TOOL.format(name="list_files")]
    assert "notes.txt" in tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT]


def test_gzip_compressed_http_export_decodes(http_receiver: OtlpHttpReceiver, point_at: PointAt) -> None:
    """With OTEL_EXPORTER_OTLP_COMPRESSION=gzip the body arrives gzip-encoded and decodes to the same spans."""
    point_at(http_receiver.endpoint, "http/protobuf", OTEL_EXPORTER_OTLP_COMPRESSION="gzip")
    wl.configure(store=False)
    play_workspace()
    assert wl.force_flush(10.0)
    assert http_receiver.wait_for_spans(len(EXPECTED_SPANS), 10.0) == len(EXPECTED_SPANS)
    assert {r.headers.get("content-encoding") for r in http_receiver.requests} == {"gzip"}
    assert {s.name for s in http_receiver.spans()} == EXPECTED_SPANS


def test_reconfigure_switches_protocol_without_duplicates(
    http_receiver: OtlpHttpReceiver, grpc_receiver: OtlpGrpcReceiver, point_at: PointAt
) -> None:
    """Calling configure() again with another endpoint sends new spans there only, never to both."""
    point_at(http_receiver.endpoint, "http/protobuf")
    wl.configure(store=False)
    with wl.workspace("first"):
        wl.info("to http")
    point_at(grpc_receiver.endpoint, "grpc")
    wl.configure(store=False)
    with wl.workspace("second"):
        wl.info("to grpc")
    assert wl.force_flush(10.0)
    assert grpc_receiver.wait_for_spans(1, 10.0) == 1
    assert [s.name for s in http_receiver.spans()] == [sc.SPAN_WORKSPACE.format(workspace_id="first")]
    assert [s.name for s in grpc_receiver.spans()] == [sc.SPAN_WORKSPACE.format(workspace_id="second")]
