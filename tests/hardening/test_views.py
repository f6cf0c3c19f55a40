"""The views: a Markdown reply keeps its shape, an export is valid OTLP JSON, a bad argument is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from markdown_it import MarkdownIt
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import otel_worklog as wl
from otel_worklog._internal.cli.app import main
from otel_worklog._internal.render.response import format_response
from tests.cli.scenario import run_cli

HOSTILE = "fine so far\r# Heading injected\r- a list item\r\n1. numbered\u2028> quoted\x0b## more\x85* star"


def block_tokens(markdown: str) -> list[str]:
    """The block structure CommonMark reads in ``markdown`` (headings, lists, quotes...)."""
    return [token.type for token in MarkdownIt("commonmark").parse(markdown) if token.type.endswith("_open")]


@pytest.mark.parametrize("mode", ["summary", "detailed"])
def test_a_carriage_return_in_an_entry_adds_no_structure_to_the_reply(tmp_path: Path, mode: str) -> None:
    store = tmp_path / "worklog.db"
    wl.configure(store=str(store))
    with wl.workspace("#w", query="q"), wl.bot("b") as bot:
        wl.decision(HOSTILE, confidence=0.9)
        wl.decision("plain decision", confidence=0.9)
        trace_id = bot.trace_id
    wl.shutdown()
    reply = format_response("Answer.", trace_id, store=str(store), mode=mode)
    assert "Heading injected" in reply
    tokens = block_tokens(reply)
    assert "heading_open" not in tokens and "blockquote_open" not in tokens and "ordered_list_open" not in tokens
    # One list item per entry the reply lists on a line of its own (lines split at LF only, as it writes them).
    listed = sum(1 for line in reply.split("\n") if line.startswith("- "))
    assert listed >= 2 and tokens.count("list_item_open") == listed


def test_an_integer_beyond_64_bits_is_exported_as_valid_otlp_json(tmp_path: Path) -> None:
    store = tmp_path / "worklog.db"
    tracer = wl.configure(store=str(store)).get_tracer("raw-api")  # the raw OpenTelemetry API
    with wl.workspace("#big-numbers"), tracer.start_as_current_span("raw") as span:
        span.set_attribute("huge", 2**70)
        span.set_attribute("very.negative", -(2**65))
        span.set_attribute("fits", 2**62)
    wl.shutdown()
    done = run_cli("export", "-w", "#big-numbers", store=store)
    assert done.returncode == 0, done.stderr
    request = json_format.Parse(done.stdout, ExportTraceServiceRequest())  # raises on an out-of-range intValue
    (raw,) = [s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans if s.name == "raw"]
    values = {kv.key: kv.value for kv in raw.attributes}
    assert values["huge"].string_value == str(2**70)
    assert values["very.negative"].string_value == str(-(2**65))
    assert values["fits"].int_value == 2**62
    assert json.loads(done.stdout)  # and plain JSON too


@pytest.mark.parametrize("argument", ["\ud800", "a\udfffb", "\ud83d\ude00\ud800"])
def test_a_lone_surrogate_passed_by_a_program_is_one_clear_line(
    argument: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A surrogate no byte decodes to (a program calling main(), not a terminal): one line, exit 2."""
    with pytest.raises(SystemExit) as exited:
        main(["logs", "-w", argument])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not valid UTF-8 text" in err and "Traceback" not in err
    assert "internal error" not in err
