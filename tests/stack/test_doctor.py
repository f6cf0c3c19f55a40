"""``otel-worklog doctor`` against a fake stack on 127.0.0.1 (see fake_stack.py), and against nothing at all.

The collector, Tempo and Prometheus are FAKES because Docker cannot run on the machines
these tests run on. The doctor itself is real: it records a real trace through the public API
on the real SDK, sends it with the real OTLP/HTTP exporter to a real endpoint that decodes the
protobuf, and queries the fakes over HTTP. What the fakes answer is computed from the spans
received, so the doctor only passes when it really sent a workspace trace with an escalation.

The doctor's clock and sleep are a fake here: a test that waits for a deadline takes no time.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli import doctor
from otel_worklog._internal.query import tempo
from tests.cli_invoke import Result, invoke
from tests.recorded import attrs

from .fake_stack import FakeStack

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


class FakeClock:
    """A monotonic clock that moves only when the doctor sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _doctor(
    stack: FakeStack, lines: list[str], *, timeout: float = 20.0, clock: FakeClock | None = None, **urls: str
) -> doctor.Doctor:
    options = {
        "health_url": stack.url("health"),
        "otlp_endpoint": stack.url("otlp"),
        "tempo_url": stack.url("tempo"),
        "prometheus_url": stack.url("prometheus"),
    }
    options.update(urls)
    clock = clock or FakeClock()
    return doctor.Doctor(
        timeout_s=timeout, echo=lines.append, poll_interval_s=0.05, clock=clock, sleep=clock.sleep, **options
    )


def test_doctor_passes_on_a_working_stack() -> None:
    lines: list[str] = []
    with FakeStack() as stack:
        checker = _doctor(stack, lines)
        assert checker.run() is True, "\n".join(lines)
        spans = stack.spans()
    assert [r.ok for r in checker.results] == [True] * 6
    assert [line.split()[0] for line in lines[1:7]] == ["PASS"] * 6
    assert lines[-1].startswith("doctor: 6 passed, 0 failed, 0 skipped")
    # The trace really went through the public API: workspace -> bot -> escalation.
    by_name = {span.name: (resource, FakeStack.attributes(span)) for resource, span in spans}
    resource, escalation = by_name[sc.ESCALATION_SPAN_NAME]
    assert escalation[sc.WORKLOG_ESCALATION] is True
    assert escalation[sc.WORKSPACE_ID] == checker.workspace_id
    assert escalation[sc.BOT_NAME] == doctor.DOCTOR_BOT
    assert resource["service.name"] == doctor.DOCTOR_SERVICE
    assert sc.SPAN_WORKSPACE.format(workspace_id=checker.workspace_id) in by_name
    assert {span.trace_id.hex() for _, span in spans} == {checker.trace_id}
    assert len(spans) == 3  # sent once


def test_each_run_uses_a_fresh_workspace() -> None:
    lines: list[str] = []
    with FakeStack() as stack:
        first, second = _doctor(stack, lines), _doctor(stack, lines)
        assert first.workspace_id != second.workspace_id
        assert first.workspace_id.startswith(doctor.DOCTOR_WORKSPACE_PREFIX)


def _doctor_cli(stack: FakeStack, health_url: str, *more: str) -> Result:
    return invoke(
        "doctor",
        "--collector-health",
        health_url,
        "--otlp-endpoint",
        stack.url("otlp"),
        "--tempo",
        stack.url("tempo"),
        "--prometheus",
        stack.url("prometheus"),
        "--timeout",
        "20",
        *more,
    )


def test_cli_exit_zero_and_a_line_per_step() -> None:
    with FakeStack() as stack:
        result = _doctor_cli(stack, stack.url("health"))
        assert stack.requests["otlp POST /v1/traces"] >= 1
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS  ") == 6


def test_cli_json_gives_every_step() -> None:
    with FakeStack() as stack:
        result = _doctor_cli(stack, _closed_port_url() + "/", "--json")
    assert result.exit_code == 1
    data = __import__("json").loads(result.stdout)
    assert data["ok"] is False and data["workspace"].startswith(doctor.DOCTOR_WORKSPACE_PREFIX)
    assert [s["status"] for s in data["steps"]] == ["fail", "pass", "pass", "pass", "pass", "pass"]
    assert data["steps"][0]["likely_cause"] == doctor.LIKELY_CAUSES["collector health"]
    assert len(data["trace_id"]) == 32


def test_cli_fails_when_the_collector_is_down() -> None:
    """Health endpoint refused: a FAIL line and exit 1, the other steps still run."""
    with FakeStack() as stack:
        result = _doctor_cli(stack, _closed_port_url() + "/")
    assert result.exit_code == 1
    assert "FAIL  collector health" in result.output and "Connection refused" in result.output
    assert result.output.count("PASS  ") == 5
    assert "likely cause: the stack is not up: check `docker compose ps`" in result.output


def test_unhealthy_collector_fails() -> None:
    lines: list[str] = []
    with FakeStack(health_status=503) as stack:
        checker = _doctor(stack, lines)
        assert checker.run() is False
    assert checker.results[0].ok is False and "HTTP 503" in checker.results[0].detail


def test_nothing_to_send_to_skips_the_rest() -> None:
    lines: list[str] = []
    with FakeStack() as stack:
        checker = _doctor(stack, lines, timeout=3.0, otlp_endpoint=_closed_port_url())
        assert checker.run() is False
        assert stack.requests["tempo GET /api/search"] == 0
    assert checker.results[1].ok is False and "did not accept" in checker.results[1].detail
    assert [r.ok for r in checker.results[2:]] == [None] * 4
    assert lines[-1].startswith("doctor: 1 passed, 1 failed, 4 skipped")


def test_an_endpoint_that_rejects_the_trace_is_one_line_without_sdk_noise(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """The fake Tempo answers 404 to POST /v1/traces: the SDK's complaint becomes the step's reason."""
    lines: list[str] = []
    caplog.set_level(logging.DEBUG)
    with FakeStack() as stack:
        checker = _doctor(stack, lines, otlp_endpoint=stack.url("tempo"))
        assert checker.run() is False
    send = checker.results[1]
    assert send.ok is False
    assert "did not accept the trace" in send.detail and "404" in send.detail
    assert lines[2] == send.line() and "likely cause: nothing takes OTLP/HTTP there" in lines[2]
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("opentelemetry")] == []


def test_trace_missing_in_tempo_fails_after_the_timeout() -> None:
    lines: list[str] = []
    clock = FakeClock()
    with FakeStack(tempo_finds=False) as stack:
        checker = _doctor(stack, lines, timeout=1.5, clock=clock)
        assert checker.run() is False
        assert stack.requests["tempo GET /api/v2/traces/" + checker.trace_id] >= 2  # it kept polling
    by_name = {r.name: r for r in checker.results}
    assert by_name["Tempo: trace by id"].ok is False
    assert "timed out" in by_name["Tempo: trace by id"].detail
    assert by_name[f"Tempo: TraceQL on {sc.WORKSPACE_ID}"].ok is False
    # Prometheus is independent of Tempo and still passes.
    assert by_name["Prometheus: span-metric series"].ok is True
    # It waited out the deadline on the doctor's clock, not the test's.
    assert sum(clock.slept) == pytest.approx(1.5)


def test_a_refusing_tempo_fails_at_once_with_its_cause() -> None:
    """Waiting cannot help when nothing listens: no poll, no sleep, even with a long timeout."""
    lines: list[str] = []
    clock = FakeClock()
    with FakeStack() as stack:
        checker = _doctor(stack, lines, timeout=180.0, clock=clock, tempo_url=_closed_port_url())
        assert checker.run() is False
    by_name = {r.name: r for r in checker.results}
    for name in ("Tempo: trace by id", f"Tempo: TraceQL on {sc.WORKSPACE_ID}"):
        assert by_name[name].ok is False and "Connection refused" in by_name[name].detail
        assert "docker compose logs tempo" in by_name[name].line()
    assert by_name["Prometheus: alert WorklogEscalation"].ok is True
    assert clock.slept == []


@pytest.mark.parametrize("state, ok", [("pending", True), ("firing", True), ("inactive", False)])
def test_alert_must_be_pending_or_firing(state: str, ok: bool) -> None:
    lines: list[str] = []
    with FakeStack(alert_state=state) as stack:
        checker = _doctor(stack, lines, timeout=1.5)
        assert checker.run() is ok
    alert = checker.results[-1]
    assert alert.name == f"Prometheus: alert {doctor.ALERT_ESCALATION}"
    assert alert.ok is ok
    if ok:
        assert alert.detail.startswith(state)
    else:
        assert alert.line().endswith(f"likely cause: the alert rules did not load: see {stack.url('prometheus')}/rules")


def test_traceql_and_promql_strings_are_escaped() -> None:
    assert doctor.traceql_string('a"b\\c') == '"a\\"b\\\\c"'
    assert doctor.promql_string('a"b') == '"a\\"b"'
    # The readers' escaping, control characters included.
    assert doctor.traceql_string is tempo.traceql_string
    assert doctor.traceql_string("a\nb\x01") == '"a\\nb\\u0001"'


class _WriteSpy(dict[str, str]):
    """os.environ that remembers every change made to it."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self.changes: list[str] = []

    def __setitem__(self, key: str, value: str) -> None:
        self.changes.append(f"set {key}")
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.changes.append(f"del {key}")
        super().__delitem__(key)

    def pop(self, key: str, *default: Any) -> Any:
        self.changes.append(f"pop {key}")
        return super().pop(key, *default)


@pytest.fixture
def app_exporter() -> Iterator[InMemorySpanExporter]:
    """An app that set up otel_worklog itself, with its own exporter, before running the doctor."""
    memory = InMemorySpanExporter()
    wl.configure(service_name="the-app", exporters=[memory], store=False, detectors=False)
    yield memory
    wl.shutdown()


def test_the_doctor_leaves_the_environment_and_the_apps_setup_alone(
    monkeypatch: pytest.MonkeyPatch, app_exporter: InMemorySpanExporter
) -> None:
    """It sends to its own endpoint only, never changes os.environ, and the app's exporter keeps working."""
    spy = _WriteSpy(dict(os.environ))
    lines: list[str] = []
    with FakeStack() as stack, FakeStack() as elsewhere:
        spy["OTEL_EXPORTER_OTLP_ENDPOINT"] = elsewhere.url("otlp")
        spy.changes.clear()
        monkeypatch.setattr(os, "environ", spy)
        checker = _doctor(stack, lines)
        assert checker.run() is True, "\n".join(lines)
        assert elsewhere.requests["otlp POST /v1/traces"] == 0
    assert spy.changes == []
    with wl.workspace("#after-the-doctor"), wl.bot("app-bot"):
        wl.info("still recorded")
    wl.force_flush(5)
    assert {attrs(s).get(sc.WORKSPACE_ID) for s in app_exporter.get_finished_spans()} == {"#after-the-doctor"}


def test_the_readme_lists_the_likely_cause_of_every_step() -> None:
    table = README.split("Common failures, as the doctor prints them:", 1)[1].split("\n\n", 2)[1]
    rows = dict(re.findall(r"^\| (.+?) \| (.+?) \|$", table, flags=re.M)[2:])
    expected = {step: cause.format(prometheus="http://localhost:9090") for step, cause in doctor.LIKELY_CAUSES.items()}
    assert rows == expected


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_with_nothing_listening_it_answers_at_once_one_line_per_step() -> None:
    """The shell's view: nothing runs on any of the four addresses."""
    health, otlp, tempo_port, prometheus = (_free_port() for _ in range(4))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST_"))}
    env.update(PYTHONPATH=str(REPO), COLUMNS="80")
    command = [
        sys.executable,
        "-m",
        "otel_worklog._internal.cli",
        "doctor",
        "--collector-health",
        f"http://127.0.0.1:{health}/",
        "--otlp-endpoint",
        f"http://127.0.0.1:{otlp}",
        "--tempo",
        f"http://127.0.0.1:{tempo_port}",
        "--prometheus",
        f"http://127.0.0.1:{prometheus}",
        "--timeout",
        "600",
    ]
    started = time.monotonic()
    # Had it waited for the 600 s deadline or the exporter's retries, the timeout below would fail the test.
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert done.stderr == ""  # no SDK retry lines, no traceback
    lines = done.stdout.splitlines()
    assert len(lines) == 8, done.stdout  # a header, six steps, the verdict
    assert [line.split()[0] for line in lines[1:7]] == ["FAIL", "FAIL", "SKIP", "SKIP", "SKIP", "SKIP"]
    assert lines[1].endswith("; likely cause: " + doctor.LIKELY_CAUSES["collector health"])
    assert lines[2].endswith("; likely cause: " + doctor.LIKELY_CAUSES["send a trace with an escalation"])
    assert "Connection refused" in lines[1] and "Connection refused" in lines[2]
    assert lines[-1] == "doctor: 0 passed, 2 failed, 4 skipped: the stack is NOT working"
    print(f"doctor with nothing listening: {elapsed:.2f} s")


@pytest.mark.parametrize("timeout", [0.0, 0.8, 3.0, 30.0])
def test_no_connection_waits_longer_than_what_is_left_of_the_timeout(
    timeout: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By construction, not by a stopwatch: every connection, request and export the doctor starts is given
    at most what is left of ``--timeout`` (the ``doctor_timeout_s`` setting), never more than 5 s, and a step
    that starts past the deadline one short last try; every sleep ends by the deadline. So with nothing
    listening, or a host that drops packets, no step can hang: the run ends within the timeout plus a last try
    per step."""
    from opentelemetry.exporter.otlp.proto.http import trace_exporter

    clock = FakeClock()
    deadline = clock.now + timeout  # the clock moves only when the doctor sleeps
    waits: list[tuple[str, float, float]] = []  # (what, its timeout, what was left of the run's timeout)
    connect = socket.create_connection

    def create_connection(address: Any, timeout: Any = None, *args: Any, **kwargs: Any) -> socket.socket:
        waits.append((f"connect {address}", timeout, deadline - clock.now))
        return connect(address, timeout, *args, **kwargs)

    exporter = trace_exporter.OTLPSpanExporter

    def make_exporter(*, endpoint: str, timeout: float) -> trace_exporter.OTLPSpanExporter:
        waits.append(("export", timeout, deadline - clock.now))
        return exporter(endpoint=endpoint, timeout=timeout)

    monkeypatch.setattr(socket, "create_connection", create_connection)  # the doctor's probes and urllib's
    monkeypatch.setattr(trace_exporter, "OTLPSpanExporter", make_exporter)
    lines: list[str] = []
    with FakeStack(tempo_finds=False) as stack:
        checker = _doctor(stack, lines, timeout=timeout, clock=clock)
        checker.run()
    assert {what.split()[0] for what, _, _ in waits} == {"connect", "export"}
    assert len(waits) >= 6, waits  # every step connected at least once
    for what, wait, left in waits:
        assert 0 < wait <= 5.0, (what, wait)
        assert wait <= max(left, 0.5), (what, wait, left)
    assert all(nap > 0 for nap in clock.slept) and clock.now <= deadline + 1e-9
