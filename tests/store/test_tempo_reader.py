"""The Tempo reader against recorded Tempo responses served from 127.0.0.1.

Tempo cannot run here (no Docker). The responses below are *built by this test*
to the shapes documented for Tempo's HTTP API (``/api/search`` returning
``{"traces": [{traceID, rootServiceName, rootTraceName, startTimeUnixNano,
durationMs, spanSets}]}`` with hex ids whose leading zeros are trimmed, and
``/api/v2/traces/<id>`` returning ``{"trace": {"resourceSpans": [...]},
"status": ...}`` with base64 ids, see reference/stack-facts.md). The trace
bodies come from real spans written through the public API.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.exceptions import BackendUnreachable, ReaderError, TraceNotFound
from otel_worklog._internal.query.otlp_json import encode_traces
from otel_worklog._internal.query.readers import StoreReader, TempoReader, open_reader
from otel_worklog._internal.query.records import SpanRecord
from otel_worklog._internal.query.tempo import traceql_regex_literal, traceql_string
from tests.cli.scenario import SECOND_REASON, fill_store, run_cli

#: The project trace gets an id with leading zeros, to exercise Tempo's trimmed search ids (tempo#4723).
PADDED_ID = "000000" + "ab" * 13


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode()


def _tempo_trace_json(spans: list[SpanRecord]) -> dict[str, Any]:
    """The /api/v2/traces body: OTLP JSON with base64 ids and enum names, as Tempo answers."""
    body = encode_traces(spans)
    for rs in body["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _b64(span[key])
                for link in span["links"]:
                    link["traceId"], link["spanId"] = _b64(link["traceId"]), _b64(link["spanId"])
                span["kind"] = "SPAN_KIND_INTERNAL"
                span["status"] = {"code": "STATUS_CODE_ERROR"} if span["status"].get("code") == 2 else {}
    return {"trace": body, "status": "COMPLETE"}


def _search_item(spans: list[SpanRecord], matched: list[SpanRecord]) -> dict[str, Any]:
    root = min(spans, key=lambda s: s.start_ns)
    return {
        "traceID": root.trace_id.lstrip("0"),
        "rootServiceName": "cli-tests",
        "rootTraceName": root.name,
        "startTimeUnixNano": str(root.start_ns),
        "durationMs": int(max(s.end_ns for s in spans) - root.start_ns) // 1_000_000,
        "spanSets": [
            {
                "spans": [
                    {
                        "spanID": s.span_id,
                        "name": s.name,
                        "startTimeUnixNano": str(s.start_ns),
                        "durationNanos": str(s.end_ns - s.start_ns),
                        "attributes": [{"key": sc.WORKSPACE_ID, "value": {"stringValue": s.workspace_id or ""}}],
                    }
                    for s in matched
                ],
                "matched": len(matched),
            }
        ],
    }


class FakeTempo:
    """Recorded responses keyed by path and TraceQL; records every query it is sent."""

    def __init__(self, traces: dict[str, list[SpanRecord]]) -> None:
        self.traces = traces
        self.queries: list[dict[str, str]] = []
        self.search: dict[str, list[str]] = {}

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        if path == "/api/search":
            self.queries.append(params)
            ids = self.search.get(params.get("q", ""), [])
            items = []
            for trace_id in ids:
                spans = self.traces[trace_id]
                items.append(_search_item(spans, [s for s in spans if s.is_escalation] or spans[:1]))
            return 200, {"traces": items, "metrics": {"inspectedTraces": len(self.traces), "completedJobs": 1}}
        if path.startswith("/api/v2/traces/"):
            wanted = path.rsplit("/", 1)[1]
            if wanted in self.traces:
                return 200, _tempo_trace_json(self.traces[wanted])
            return 404, "trace not found"
        return 404, "404 page not found"


@contextlib.contextmanager
def serve(fake: FakeTempo) -> Iterator[str]:
    """``fake`` answering HTTP on 127.0.0.1, as Tempo's API would; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(url.query))
            status, body = fake.answer(url.path, params)
            data = (json.dumps(body) if not isinstance(body, str) else body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if not isinstance(body, str) else "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def tempo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeTempo, dict[str, str]]]:
    store = tmp_path_factory.mktemp("tempo") / "w.db"
    ids = fill_store(store)
    with StoreReader(store) as reader:
        general = reader.trace(ids["general"])
        project = [
            dataclasses.replace(
                s, trace_id=PADDED_ID, links=tuple(dataclasses.replace(li, trace_id=PADDED_ID) for li in s.links)
            )
            for s in reader.trace(ids["project"])
        ]
    ids = {"general": ids["general"], "project": PADDED_ID}
    fake = FakeTempo({ids["general"]: general, PADDED_ID: project})
    fake.search = {
        "{ }": [PADDED_ID, ids["general"]],
        '{ span.workspace.id = "#general" }': [ids["general"]],
        "{ span.worklog.escalation = true }": [PADDED_ID],
        '{ event.worklog.message =~ "(?i).*limit.*" }': [PADDED_ID],
    }

    with serve(fake) as url:
        yield url, fake, ids


class TestReader:
    def test_sessions_decode_base64_ids_and_restore_trimmed_zeros(
        self, tempo: tuple[str, FakeTempo, dict[str, str]]
    ) -> None:
        url, fake, ids = tempo
        reader = open_reader(tempo=url)
        assert isinstance(reader, TempoReader)
        sessions = reader.sessions()
        assert [s.trace_id for s in sessions] == [PADDED_ID, ids["general"]]
        project = sessions[0]
        assert (project.workspace_id, project.workspace_type, project.escalations, project.errors) == (
            "#project-x",
            "project",
            1,
            1,
        )
        assert set(project.bots) == {"nanobot", "researcher", "coder"}
        query = fake.queries[-1]
        assert query["q"] == "{ }"
        assert int(query["end"]) > int(query["start"])  # an explicit window, not only live data

    def test_trace_spans_links_and_status(self, tempo: tuple[str, FakeTempo, dict[str, str]]) -> None:
        url, _, _ = tempo
        spans = TempoReader(url).trace(PADDED_ID.lstrip("0"))  # a trimmed id from search still works
        assert all(s.trace_id == PADDED_ID and len(s.span_id) == 16 for s in spans)
        receiver = next(s for s in spans if s.links)
        assert receiver.links[0].trace_id == PADDED_ID
        assert any(s.status_code == "ERROR" for s in spans)
        assert next(s for s in spans if s.is_escalation).attributes[sc.WORKLOG_ESCALATION_REASON] == SECOND_REASON

    def test_unknown_trace_and_unreachable(self, tempo: tuple[str, FakeTempo, dict[str, str]]) -> None:
        url, _, _ = tempo
        with pytest.raises(TraceNotFound, match="no trace"):
            TempoReader(url).trace("f" * 32)
        with pytest.raises(BackendUnreachable, match="cannot reach Tempo"):
            TempoReader("http://127.0.0.1:9", timeout_s=2).sessions()
        with pytest.raises(ReaderError):
            TempoReader(url + "/nothing-here").sessions()

    def test_escalations_and_search(self, tempo: tuple[str, FakeTempo, dict[str, str]]) -> None:
        url, fake, _ = tempo
        reader = TempoReader(url)
        (escalation,) = reader.escalations()
        assert escalation.attributes[sc.WORKLOG_ESCALATION_REASON] == SECOND_REASON
        hits = reader.search_entries("rate limit")
        assert fake.queries[-1]["q"] == '{ event.worklog.message =~ "(?i).*limit.*" }'
        assert {h.event.attributes[sc.WORKLOG_MESSAGE] for h in hits} == {
            "Found missing rate limiting",
            "Defaulting to 100 req/min rate limit",
        }

    def test_user_text_cannot_break_out_of_traceql(self, tempo: tuple[str, FakeTempo, dict[str, str]]) -> None:
        url, fake, _ = tempo
        reader = TempoReader(url)
        assert reader.sessions(workspace='#x" } || { true', bot="a\\b") == []
        assert fake.queries[-1]["q"] == '{ span.workspace.id = "#x\\" } || { true" && span.bot.name = "a\\\\b" }'
        reader.search_entries('x") || true || ("')
        assert fake.queries[-1]["q"] == '{ event.worklog.message =~ "(?i).*true.*" }'  # the longest word
        reader.search_entries('.*"(')
        assert fake.queries[-1]["q"] == '{ event.worklog.message =~ "(?i).*\\\\.\\\\*\\"\\\\(.*" }'


def _unquote_traceql(literal: str) -> str:
    """A reference reader for one TraceQL (Go-style) double-quoted string; fails on anything else."""
    assert literal[0] == '"' and literal[-1] == '"'
    body, out, i = literal[1:-1], [], 0
    simple = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}
    while i < len(body):
        char = body[i]
        assert char != '"', "an unescaped quote would end the string early"
        assert ord(char) >= 0x20 and ord(char) != 0x7F, "raw control character"
        if char == "\\":
            nxt = body[i + 1]
            if nxt == "u":
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(simple[nxt])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


@given(st.text())
def test_traceql_string_round_trips_any_text(text: str) -> None:
    assert _unquote_traceql(traceql_string(text)) == text


@given(st.text(min_size=1))
def test_traceql_regex_literal_is_one_string(text: str) -> None:
    assert _unquote_traceql(traceql_regex_literal(text)).startswith("(?i).*")


class TestCliOnTempo:
    def test_logs_explain_escalations_how(self, tempo: tuple[str, FakeTempo, dict[str, str]]) -> None:
        url, _, ids = tempo
        rows = json.loads(run_cli("logs", "--tempo", url, "--json").stdout)
        assert [r["trace_id"] for r in rows] == [PADDED_ID, ids["general"]]
        latest = json.loads(run_cli("explain", "--tempo", url, "--json").stdout)
        assert latest["trace_id"] == PADDED_ID and latest["escalations"][0]["reason"] == SECOND_REASON
        general = run_cli("explain", "-w", "#general", "--tempo", url)
        assert general.returncode == 0 and "TIER_SIMPLE" in general.stdout
        assert SECOND_REASON in run_cli("escalations", "--tempo", url).stdout
        assert "rate limit" in run_cli("how", "rate limit", "--tempo", url).stdout

    def test_view_and_export(self, tempo: tuple[str, FakeTempo, dict[str, str]], tmp_path: Path) -> None:
        url, _, _ = tempo
        page = tmp_path / "t.html"
        assert run_cli("view", PADDED_ID, "--html", str(page), "--tempo", url).returncode == 0
        assert "lane" in page.read_text()
        data = json.loads(run_cli("export", PADDED_ID, "--tempo", url).stdout)
        assert data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] == PADDED_ID

    def test_unknown_trace_is_one_line(self, tempo: tuple[str, FakeTempo, dict[str, str]]) -> None:
        url, _, _ = tempo
        done = run_cli("explain", "f" * 32, "--tempo", url)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.strip().count("\n") == 0 and "no trace" in done.stderr
