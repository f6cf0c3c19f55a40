"""``otel-worklog doctor`` against a fake stack on 127.0.0.1 (see fake_stack.py).

The collector, Tempo and Prometheus are FAKES because Docker cannot run on the machines
these tests run on. The doctor itself is real: it configures the real SDK, sends a real
trace with the real OTLP/HTTP exporter to a real endpoint that decodes the protobuf, and
queries the fakes over HTTP. What the fakes answer is computed from the spans received,
so the doctor only passes when it really sent a workspace trace with an escalation.
"""

from __future__ import annotations

import socket

import pytest

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli import doctor
from tests.cli_invoke import Result, invoke

from .fake_stack import FakeStack


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _doctor(stack: FakeStack, lines: list[str], *, timeout: float = 20.0, **urls: str) -> doctor.Doctor:
    options = {
        "health_url": stack.url("health"),
        "otlp_endpoint": stack.url("otlp"),
        "tempo_url": stack.url("tempo"),
        "prometheus_url": stack.url("prometheus"),
    }
    options.update(urls)
    return doctor.Doctor(timeout_s=timeout, echo=lines.append, poll_interval_s=0.05, **options)


def test_doctor_passes_on_a_working_stack():
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


def test_each_run_uses_a_fresh_workspace():
    lines: list[str] = []
    with FakeStack() as stack:
        first, second = _doctor(stack, lines), _doctor(stack, lines)
        assert first.workspace_id != second.workspace_id
        assert first.workspace_id.startswith(doctor.DOCTOR_WORKSPACE_PREFIX)


def _doctor_cli(stack: FakeStack, health_url: str) -> Result:
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
    )


def test_cli_exit_zero_and_a_line_per_step():
    with FakeStack() as stack:
        result = _doctor_cli(stack, stack.url("health"))
        assert stack.requests["otlp POST /v1/traces"] >= 1
    assert result.exit_code == 0, result.output
    assert result.output.count("PASS  ") == 6


def test_cli_fails_when_the_collector_is_down():
    """Health endpoint refused: a FAIL line and exit 1, the other steps still run."""
    with FakeStack() as stack:
        result = _doctor_cli(stack, _closed_port_url() + "/")
    assert result.exit_code == 1
    assert "FAIL  collector health" in result.output and "Connection refused" in result.output
    assert result.output.count("PASS  ") == 5


def test_unhealthy_collector_fails():
    lines: list[str] = []
    with FakeStack(health_status=503) as stack:
        checker = _doctor(stack, lines)
        assert checker.run() is False
    assert checker.results[0].ok is False and "HTTP 503" in checker.results[0].detail


def test_nothing_to_send_to_skips_the_rest():
    lines: list[str] = []
    with FakeStack() as stack:
        checker = _doctor(stack, lines, timeout=3.0, otlp_endpoint=_closed_port_url())
        assert checker.run() is False
        assert stack.requests["tempo GET /api/search"] == 0
    assert checker.results[1].ok is False and "did not accept" in checker.results[1].detail
    assert [r.ok for r in checker.results[2:]] == [None] * 4
    assert lines[-1].startswith("doctor: 1 passed, 1 failed, 4 skipped")


def test_trace_missing_in_tempo_fails_after_the_timeout():
    lines: list[str] = []
    with FakeStack(tempo_finds=False) as stack:
        checker = _doctor(stack, lines, timeout=1.5)
        assert checker.run() is False
        assert stack.requests["tempo GET /api/v2/traces/" + checker.trace_id] >= 2  # it kept polling
    by_name = {r.name: r for r in checker.results}
    assert by_name["Tempo: trace by id"].ok is False
    assert "timed out" in by_name["Tempo: trace by id"].detail
    assert by_name[f"Tempo: TraceQL on {sc.WORKSPACE_ID}"].ok is False
    # Prometheus is independent of Tempo and still passes.
    assert by_name["Prometheus: span-metric series"].ok is True


@pytest.mark.parametrize("state, ok", [("pending", True), ("firing", True), ("inactive", False)])
def test_alert_must_be_pending_or_firing(state, ok):
    lines: list[str] = []
    with FakeStack(alert_state=state) as stack:
        checker = _doctor(stack, lines, timeout=1.5)
        assert checker.run() is ok
    alert = checker.results[-1]
    assert alert.name == f"Prometheus: alert {doctor.ALERT_ESCALATION}"
    assert alert.ok is ok
    if ok:
        assert alert.detail.startswith(state)


def test_traceql_and_promql_strings_are_escaped():
    assert doctor.traceql_string('a"b\\c') == '"a\\"b\\\\c"'
    assert doctor.promql_string('a"b') == '"a\\"b"'
