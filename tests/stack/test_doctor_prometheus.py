"""``otel-worklog doctor``'s Prometheus steps against a real Prometheus with the production rules.

The doctor sends its test trace through the real SDK and OTLP/HTTP exporter. The collector and
Tempo cannot run here (no Docker), so their side is fake_stack.FakeStack; the span metrics the
collector would export are counted from the spans that fake really received
(span_metrics_endpoint.py) and scraped by a REAL Prometheus (Debian's ``prometheus``), which
evaluates grafana/prometheus/rules/worklog.rules.yml unchanged: its 15s group interval and the
escalation alert's ``for: 0s``. Only the scrape interval of the test's prometheus.yml is shorter.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.cli import doctor
from tests.conftest import require_tool

from . import stackfiles as sf
from .fake_stack import FakeStack
from .prometheus_server import PrometheusServer, server_config
from .span_metrics_endpoint import SeriesKey, SpanMetricsEndpoint, count_calls

#: The production rule group's interval (15s) plus scrapes and start-up, with room for a slow machine.
TIMEOUT_S = 90.0


@contextmanager
def _doctor_on_real_prometheus(
    tmp_path: Path, rule_files: Sequence[Path], timeout_s: float, lines: list[str]
) -> Iterator[tuple[doctor.Doctor, PrometheusServer]]:
    """A doctor whose Prometheus is real, scraping the span metrics of what the fake collector received."""
    binary = require_tool("prometheus")
    with FakeStack() as stack:

        def collector_series() -> Mapping[SeriesKey, float]:
            return count_calls(stack.spans(), collector_instance_id="0b6f1e52-doctor")

        with SpanMetricsEndpoint(source=collector_series) as endpoint:
            config = server_config(rule_files=rule_files, target=endpoint.target)
            with PrometheusServer(binary, config, tmp_path) as prometheus:
                checker = doctor.Doctor(
                    health_url=stack.url("health"),
                    otlp_endpoint=stack.url("otlp"),
                    tempo_url=stack.url("tempo"),
                    prometheus_url=prometheus.url,
                    timeout_s=timeout_s,
                    echo=lines.append,
                    poll_interval_s=0.5,
                )
                yield checker, prometheus


def test_doctor_prometheus_steps_pass_against_a_real_prometheus(tmp_path: Path) -> None:
    lines: list[str] = []
    with _doctor_on_real_prometheus(tmp_path, [sf.RULES], TIMEOUT_S, lines) as (checker, prometheus):
        assert checker.run() is True, "\n".join(lines) + "\n" + prometheus.log()
        alerts = prometheus.alerts(doctor.ALERT_ESCALATION)

    by_name = {result.name: result for result in checker.results}
    label = sc.prometheus_label(sc.WORKSPACE_ID)
    metrics = by_name["Prometheus: span-metric series"]
    assert metrics.ok is True and metrics.detail.startswith("1 series of traces_span_metrics_calls_total{")
    alert = by_name[f"Prometheus: alert {doctor.ALERT_ESCALATION}"]
    # for: 0s in the production rule: the alert fires at the first evaluation that sees the series.
    assert alert.ok is True and alert.detail == f"firing for {label}={checker.workspace_id}"
    (fired,) = [a for a in alerts if a["labels"].get(label) == checker.workspace_id]
    assert fired["state"] == "firing"
    assert fired["labels"][sc.prometheus_label(sc.BOT_NAME)] == doctor.DOCTOR_BOT
    assert fired["labels"]["service_name"] == doctor.DOCTOR_SERVICE
    assert lines[-1].startswith("doctor: 6 passed, 0 failed, 0 skipped")


def test_doctor_fails_the_alert_step_when_the_rules_are_not_loaded(tmp_path: Path) -> None:
    """Against the same real server without rule files, the series is there but no alert ever is."""
    lines: list[str] = []
    with _doctor_on_real_prometheus(tmp_path, [], 6.0, lines) as (checker, _prometheus):
        assert checker.run() is False
    by_name = {result.name: result for result in checker.results}
    assert by_name["Prometheus: span-metric series"].ok is True
    alert = by_name[f"Prometheus: alert {doctor.ALERT_ESCALATION}"]
    assert alert.ok is False and alert.detail.startswith(f"timed out waiting for alert {doctor.ALERT_ESCALATION}")
