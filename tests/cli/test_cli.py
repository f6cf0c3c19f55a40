"""The ``otel-worklog`` CLI run as a real subprocess against a store filled through the public API."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from tests.cli.scenario import HOSTILE, SECOND_REASON, fill_store, run_cli
from tests.cli_invoke import invoke


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("cli") / "worklog.db"
    return path, fill_store(path)


def _one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0
    err = done.stderr
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


class TestLogs:
    def test_table_lists_both_sessions_newest_first(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        done = run_cli("logs", store=store)
        assert done.returncode == 0, done.stderr
        out = done.stdout
        # Trace ids are shown as their shortest unique prefix (at least 8 characters), which every command takes.
        assert out.index(ids["project"][:8]) < out.index(ids["general"][:8])
        assert "#project-x" in out and "escalated" in out and "project" in out

    def test_json_has_counts_and_bots(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        rows = json.loads(run_cli("logs", "--json", store=store).stdout)
        project = next(r for r in rows if r["trace_id"] == ids["project"])
        assert project["workspace"] == "#project-x"
        assert project["type"] == "project"
        assert set(project["bots"]) == {"nanobot", "researcher", "coder"}
        assert project["escalations"] == 1
        assert project["errors"] == 1
        assert project["status"] == "escalated"

    def test_filters(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        only_general = json.loads(run_cli("logs", "-w", "#general", "--json", store=store).stdout)
        assert [r["trace_id"] for r in only_general] == [ids["general"]]
        with_coder = json.loads(run_cli("logs", "-b", "@coder", "--json", store=store).stdout)
        assert [r["trace_id"] for r in with_coder] == [ids["project"]]
        assert len(json.loads(run_cli("logs", "-n", "1", "--json", store=store).stdout)) == 1

    def test_seed_alias(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        assert ids["general"][:8] in run_cli("workspace-logs", store=store).stdout


class TestExplain:
    def test_no_argument_explains_the_latest_session(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        data = json.loads(run_cli("explain", "--json", store=store).stdout)
        assert data["trace_id"] == ids["project"]
        levels = [e["level"] for e in data["entries"]]
        assert "uncertainty" in levels  # the 0.6 decision was flagged
        assert data["escalations"][0]["reason"] == SECOND_REASON
        assert [t["status"] for t in data["tools"] if t["tool"] == "flaky_write"] == ["error", "success"]
        assert data["handoffs"][0]["from"] == "nanobot" and data["handoffs"][0]["to"] == "researcher"
        assert data["handoffs"][0]["received_by"][0]["bot"] == "researcher"

    def test_timeline_text(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        done = run_cli("explain", ids["project"], store=store)
        assert done.returncode == 0, done.stderr
        out = done.stdout
        assert "nanobot ──▶ researcher" in out
        assert "ESCALATION" in out or "Escalation" in out
        assert "flaky_write ✗ error" in out and "ValueError" in out
        assert "60%" in out
        # Rich markup inside a message is printed as text, not interpreted.
        assert "[red]not markup[/red]" in out

    @pytest.mark.parametrize("mode", ["summary", "detailed", "debug", "coordination", "conversations"])
    def test_every_mode_runs(self, filled: tuple[Path, dict[str, str]], mode: str) -> None:
        store, ids = filled
        done = run_cli("explain", ids["project"], "--mode", mode, store=store)
        assert done.returncode == 0, done.stderr
        assert "#project-x" in done.stdout
        expected = {
            "summary": "Key decisions",
            "detailed": "What happened",
            "debug": "Spans",
            "coordination": "Delegations",
            "conversations": "Bot conversations",
        }[mode]
        assert expected in done.stdout

    def test_the_summary_lists_the_errors_bots_wrote(self, tmp_path: Path) -> None:
        store = tmp_path / "worklog.db"
        wl.configure(service_name="cli-tests", store=str(store), exporters=[])
        try:
            with wl.workspace("#deploys") as ws, wl.bot("deployer"):
                wl.info("Deploying the release")
                wl.error("Disk full on the build host")
        finally:
            wl.shutdown()
        done = run_cli("explain", ws.trace_id, "--mode", "summary", store=store)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        heading = lines.index("⚠ Errors")
        assert lines[heading + 1] == "  Step 2: Disk full on the build host"

    def test_conversations_thread_replies_under_their_message(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        out = run_cli("explain", ids["project"], "--mode", "conversations", store=store).stdout
        lines = out.splitlines()
        ask = next(i for i, line in enumerate(lines) if "please review the auth module" in line)
        reply = next(i for i, line in enumerate(lines) if "Found missing rate limiting" in line)
        assert reply > ask
        indent = lines[reply].index("Step")
        assert indent > lines[ask].index("Step")  # nested one level deeper

    def test_bot_filter(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        data = json.loads(run_cli("explain", ids["project"], "-b", "coder", "--json", store=store).stdout)
        assert {e["bot"] for e in data["entries"]} == {"coder"}
        assert {t["bot"] for t in data["tools"]} == {"coder"}

    def test_workspace_picks_its_latest_session(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        data = json.loads(run_cli("explain", "-w", "#general", "--json", store=store).stdout)
        assert data["trace_id"] == ids["general"]

    def test_unknown_mode(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, _ = filled
        error = _one_line_error(run_cli("explain", "--mode", "nope", store=store))
        assert "invalid choice: 'nope'" in error and "'conversations'" in error


class TestHowAndEscalations:
    def test_how_finds_the_step_with_context(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        hits = json.loads(run_cli("how", "rate limit", "--json", store=store).stdout)
        messages = [h["message"] for h in hits]
        assert "Defaulting to 100 req/min rate limit" in messages
        assert "Found missing rate limiting" in messages
        hit = next(h for h in hits if h["message"].startswith("Defaulting"))
        assert hit["trace_id"] == ids["project"] and hit["bot"] == "nanobot"
        assert len(hit["context"]) >= 3  # the steps around it

    def test_how_text_and_workspace_filter(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, _ = filled
        assert "No entries found" in run_cli("how", "rate limit", "-w", "#general", store=store).stdout
        out = run_cli("how", "TIER_SIMPLE", store=store).stdout
        assert "#general" in out and "TIER_SIMPLE" in out

    @pytest.mark.parametrize("text", ['"', "NEAR(", "a OR", "*", "'; DROP TABLE spans; --", "{ } ||"])
    def test_how_survives_query_syntax(self, filled: tuple[Path, dict[str, str]], text: str) -> None:
        store, _ = filled
        done = run_cli("how", text, "--json", store=store)
        assert done.returncode == 0, done.stderr
        assert isinstance(json.loads(done.stdout), list)

    def test_escalations_newest_first(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        rows = json.loads(run_cli("escalations", "--json", store=store).stdout)
        assert rows[0]["reason"] == SECOND_REASON
        assert rows[0]["workspace"] == "#project-x" and rows[0]["bot"] == "nanobot"
        assert rows[0]["trace_id"] == ids["project"]
        assert SECOND_REASON in run_cli("escalations", store=store).stdout


class TestExport:
    @staticmethod
    def _as_proto(data: dict[str, Any]) -> TracesData:
        """OTLP/JSON uses hex ids; protobuf's JSON mapping wants base64, so convert and parse strictly."""
        text = json.dumps(data)
        for rs in data["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for span in ss["spans"]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in span:
                            text = text.replace(
                                f'"{span[key]}"', '"' + base64.b64encode(bytes.fromhex(span[key])).decode() + '"'
                            )
                    for link in span["links"]:
                        for key in ("traceId", "spanId"):
                            text = text.replace(
                                f'"{link[key]}"', '"' + base64.b64encode(bytes.fromhex(link[key])).decode() + '"'
                            )
        return json_format.Parse(text, TracesData())

    def test_trace_as_otlp_json(self, filled: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
        store, ids = filled
        target = tmp_path / "out.json"
        done = run_cli("export", ids["project"], "--format", "otlp-json", "-o", str(target), store=store)
        assert done.returncode == 0, done.stderr
        data = json.loads(target.read_text())
        spans = [s for rs in data["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
        assert {s["traceId"] for s in spans} == {ids["project"]}
        proto = self._as_proto(data)
        parsed = [s for rs in proto.resource_spans for ss in rs.scope_spans for s in ss.spans]
        assert len(parsed) == len(spans)
        escalation = next(s for s in parsed if s.name == sc.ESCALATION_SPAN_NAME)
        attrs = {a.key: a.value for a in escalation.attributes}
        assert attrs[sc.WORKLOG_ESCALATION].bool_value is True
        receiver = next(s for s in parsed if s.links)
        assert receiver.links[0].attributes[0].value.string_value == sc.LINK_TYPE_HANDOFF

    def test_workspace_exports_every_session_to_stdout(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        data = json.loads(run_cli("export", "-w", "#general", store=store).stdout)
        trace_ids = {s["traceId"] for rs in data["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]}
        assert trace_ids == {ids["general"]}


class TestJson:
    """Every command takes --json; these two were the ones that refused it."""

    def test_report_json_is_the_reports_data(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, _ = filled
        done = run_cli("report", "--json", store=store)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        assert data["days"] == 7.0
        assert data["workflows"]["total_workflows"] == 2
        assert {row["bot"] for row in data["bots"]} == {"nanobot", "researcher", "coder"}

    def test_report_json_to_a_file(self, filled: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
        store, _ = filled
        target = tmp_path / "report.json"
        done = run_cli("report", "--json", "-o", str(target), store=store)
        assert done.returncode == 0, done.stderr
        assert json.loads(target.read_text())["workflows"]["total_workflows"] == 2

    def test_report_json_and_a_format_exclude_each_other(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, _ = filled
        error = _one_line_error(run_cli("report", "--json", "--format", "html", store=store))
        assert "--json" in error and "--format" in error

    def test_export_json_is_otlp_json(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, ids = filled
        as_json = run_cli("export", ids["project"], "--json", store=store)
        assert as_json.returncode == 0, as_json.stderr
        assert as_json.stdout == run_cli("export", ids["project"], store=store).stdout
        spans = [
            s for rs in json.loads(as_json.stdout)["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]
        ]
        assert {s["traceId"] for s in spans} == {ids["project"]}

    def test_prune_json_when_the_retention_keeps_everything(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, _ = filled
        result = invoke("prune", "--json", "--store", str(store), env={"OTEL_WORKLOG_RETENTION_DAYS": "0"})
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == {"sessions": 0, "spans": 0, "dry_run": False, "older_than_days": None}


class TestErrors:
    def test_missing_store(self, tmp_path: Path) -> None:
        err = _one_line_error(run_cli("logs", store=tmp_path / "nope.db"))
        assert "no work-log store" in err
        assert not (tmp_path / "nope.db").exists()  # reading never creates a store

    def test_unknown_trace_id(self, filled: tuple[Path, dict[str, str]]) -> None:
        store, _ = filled
        err = _one_line_error(run_cli("explain", "0123456789abcdef0123456789abcdef", store=store))
        assert "no trace" in err
        assert "not a trace id" in _one_line_error(run_cli("view", "zzz", store=store))

    def test_unreachable_tempo(self) -> None:
        for command in (["logs"], ["explain"], ["how", "x"], ["escalations"], ["export"]):
            err = _one_line_error(run_cli(*command, "--tempo", "http://127.0.0.1:9"))
            assert "cannot reach Tempo" in err

    def test_prune(self, tmp_path: Path) -> None:
        store = tmp_path / "p.db"
        fill_store(store)
        dry = json.loads(run_cli("prune", "--older-than", "0", "--dry-run", "--json", store=store).stdout)
        assert dry["sessions"] == 2 and dry["dry_run"] is True
        assert len(json.loads(run_cli("logs", "--json", store=store).stdout)) == 2
        done = json.loads(run_cli("prune", "--older-than", "0", "--vacuum", "--json", store=store).stdout)
        assert done["sessions"] == 2
        assert json.loads(run_cli("logs", "--json", store=store).stdout) == []
        kept = json.loads(run_cli("prune", "--older-than", "30", "--json", store=store).stdout)
        assert kept["sessions"] == 0


def test_hostile_text_is_stored_verbatim(filled: tuple[Path, dict[str, str]]) -> None:
    store, ids = filled
    data = json.loads(run_cli("explain", ids["project"], "--json", store=store).stdout)
    assert HOSTILE in [e["message"] for e in data["entries"]]


def test_demo_crosses_a_process_boundary(tmp_path: Path) -> None:
    store = tmp_path / "demo.db"
    done = run_cli("demo", store=store, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "What to run next" in done.stdout and "otel-worklog explain" in done.stdout
    sessions = json.loads(run_cli("logs", "--json", store=store).stdout)
    assert {s["workspace"] for s in sessions} == {
        "#general",
        "#project-refactor",
        "dm-researcher",
        "#coordination-website",
    }
    project = next(s for s in sessions if s["workspace"] == "#project-refactor")
    spans = json.loads(run_cli("explain", project["trace_id"], "--mode", "debug", "--json", store=store).stdout)
    exported = json.loads(run_cli("export", project["trace_id"], store=store).stdout)
    services = {
        a["value"]["stringValue"]
        for rs in exported["resourceSpans"]
        for a in rs["resource"]["attributes"]
        if a["key"] == "service.name"
    }
    assert services == {"otel-worklog-demo", "otel-worklog-demo-researcher"}  # two processes, one trace
    researcher = next(s for s in spans["spans"] if s["name"] == "invoke_agent researcher")
    assert researcher["attributes"][sc.WORKSPACE_ID] == "#project-refactor"  # restored from baggage
    assert researcher["links"][0]["attributes"][sc.WORKLOG_LINK_TYPE] == sc.LINK_TYPE_HANDOFF
    assert any(t["status"] == "error" for t in spans["tools"]) and any(
        e["low_confidence"] for e in [{"low_confidence": x.get("low_confidence", False)} for x in spans["entries"]]
    )
    dm = next(s for s in sessions if s["workspace"] == "dm-researcher")
    dm_log = json.loads(run_cli("explain", dm["trace_id"], "--json", store=store).stdout)
    assert any(e.get("insight") and e.get("shareable") for e in dm_log["entries"])
    coordination = next(s for s in sessions if s["workspace"] == "#coordination-website")
    assert coordination["escalations"] == 1 and coordination["type"] == "coordination"
