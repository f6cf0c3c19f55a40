"""``otel-worklog doctor``: prove that a running stack works, end to end.

The bundled stack (``docker compose up -d``) has several moving parts: the collector
redacts, computes span metrics and tail-samples; Tempo stores; Prometheus scrapes and
alerts. A dashboard that stays empty does not say which part is broken, so the doctor
walks the path a real escalation takes and prints one PASS/FAIL line per hop:

1. the collector's health_check answers;
2. a test trace with an escalation, sent through the public API and the OTLP/HTTP exporter,
   is accepted by the collector;
3. Tempo returns that trace by id, and
4. finds it with TraceQL on ``workspace.id``;
5. Prometheus has the span-metric series of the escalation;
6. the ``WorklogEscalation`` alert is pending or firing for the test workspace.

Every run uses a fresh workspace id (``otel-worklog-doctor-<hex>``), so an old run can never
make a new one pass. Note that step 6 really fires the escalation alert, for that workspace,
until it resolves ten minutes later.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal import settings as params

logger = logging.getLogger("otel_worklog")

__all__ = ["ALERT_ESCALATION", "METRIC_CALLS", "Doctor", "StepResult", "doctor"]

#: Names the doctor expects from the bundled configs (tests/stack checks them against the files).
ALERT_ESCALATION = "WorklogEscalation"
METRIC_CALLS = "traces_span_metrics_calls_total"
DOCTOR_SERVICE = "otel-worklog-doctor"
DOCTOR_BOT = "doctor"
DOCTOR_WORKSPACE_PREFIX = "otel-worklog-doctor-"

DEFAULT_OTLP_ENDPOINT = "http://localhost:4318"
_HTTP_TIMEOUT_S = 5.0


class DoctorError(Exception):
    """One step's failure, with the one-line reason shown to the user."""


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step: ``ok`` is None when the step was skipped."""

    name: str
    ok: bool | None
    detail: str

    def line(self) -> str:
        mark = "SKIP" if self.ok is None else ("PASS" if self.ok else "FAIL")
        return f"{mark}  {self.name:<38} {self.detail}"


def traceql_string(value: str) -> str:
    """``value`` as a TraceQL string literal (quotes and backslashes escaped)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def promql_string(value: str) -> str:
    """``value`` as a PromQL string literal."""
    return json.dumps(value)


def _get_json(url: str) -> tuple[int, Any]:
    """GET ``url``; (status, parsed JSON or None). Connection failures raise DoctorError."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=_HTTP_TIMEOUT_S) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DoctorError(f"cannot reach {url}: {reason}") from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None


def _spans(trace_json: Any) -> Iterator[dict[str, Any]]:
    """Spans of a Tempo trace, whether /api/v2 (``trace.resourceSpans``) or /api (``batches``)."""
    if not isinstance(trace_json, dict):
        return
    root = trace_json.get("trace", trace_json)
    if not isinstance(root, dict):
        return
    for resource_spans in root.get("resourceSpans") or root.get("batches") or []:
        for scope_spans in resource_spans.get("scopeSpans") or resource_spans.get("instrumentationLibrarySpans") or []:
            yield from scope_spans.get("spans") or []


def _attribute(span: dict[str, Any], key: str) -> Any:
    for item in span.get("attributes") or []:
        if item.get("key") == key:
            value = item.get("value") or {}
            for kind in ("stringValue", "boolValue", "intValue", "doubleValue"):
                if kind in value:
                    return value[kind]
    return None


class Doctor:
    """Runs the checks in order; ``run()`` prints a line per step and returns True when all pass."""

    def __init__(
        self,
        *,
        health_url: str,
        otlp_endpoint: str,
        tempo_url: str,
        prometheus_url: str,
        timeout_s: float,
        echo: Callable[[str], None] = print,
        poll_interval_s: float = 2.0,
    ) -> None:
        self.health_url = health_url
        self.otlp_endpoint = otlp_endpoint.rstrip("/")
        self.tempo_url = tempo_url.rstrip("/")
        self.prometheus_url = prometheus_url.rstrip("/")
        self.timeout_s = timeout_s
        self.echo = echo
        self.poll_interval_s = poll_interval_s
        self.workspace_id = DOCTOR_WORKSPACE_PREFIX + secrets.token_hex(4)
        self.trace_id = ""
        self.results: list[StepResult] = []
        self._deadline = 0.0

    # --- driver ---------------------------------------------------------------
    def run(self) -> bool:
        self._deadline = time.monotonic() + self.timeout_s
        self.echo(f"otel-worklog doctor: test workspace {self.workspace_id}, timeout {self.timeout_s:g}s")
        self._step("collector health", self.check_health)
        sent = self._step("send a trace with an escalation", self.send_trace)
        dependent = (
            ("Tempo: trace by id", self.check_tempo_trace),
            ("Tempo: TraceQL on " + sc.WORKSPACE_ID, self.check_tempo_search),
            ("Prometheus: span-metric series", self.check_metrics),
            (f"Prometheus: alert {ALERT_ESCALATION}", self.check_alert),
        )
        for name, check in dependent:
            if sent:
                self._step(name, check)
            else:
                self._record(StepResult(name, None, "skipped: no test trace was sent"))
        failed = sum(1 for r in self.results if r.ok is False)
        skipped = sum(1 for r in self.results if r.ok is None)
        passed = len(self.results) - failed - skipped
        verdict = "the stack works" if failed == 0 and skipped == 0 else "the stack is NOT working"
        self.echo(f"doctor: {passed} passed, {failed} failed, {skipped} skipped: {verdict}")
        return failed == 0 and skipped == 0

    def _step(self, name: str, check: Callable[[], str]) -> bool:
        try:
            detail = check()
        except DoctorError as exc:
            self._record(StepResult(name, False, str(exc)))
            return False
        self._record(StepResult(name, True, detail))
        return True

    def _record(self, result: StepResult) -> None:
        self.results.append(result)
        self.echo(result.line())

    def _poll(self, attempt: Callable[[], str | None], waiting_for: str) -> str:
        """Call ``attempt`` until it returns a detail string or the shared deadline passes."""
        last_error = ""
        while True:
            try:
                detail = attempt()
                if detail is not None:
                    return detail
            except DoctorError as exc:
                last_error = f" (last error: {exc})"
            if time.monotonic() >= self._deadline:
                raise DoctorError(f"timed out waiting for {waiting_for}{last_error}")
            time.sleep(min(self.poll_interval_s, max(0.0, self._deadline - time.monotonic())))

    # --- steps ----------------------------------------------------------------
    def check_health(self) -> str:
        status, body = _get_json(self.health_url)
        if status != 200:
            raise DoctorError(f"{self.health_url} answered HTTP {status}")
        state = body.get("status") if isinstance(body, dict) else None
        return f"{self.health_url} answered 200" + (f" ({state})" if state else "")

    def send_trace(self) -> str:
        """Send one workspace -> bot -> escalation trace through the public API and OTLP/HTTP."""
        endpoint = self.otlp_endpoint + "/v1/traces"
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON

        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=int(min(10.0, max(1.0, self.timeout_s))))
        # OTEL_TRACES_EXPORTER=none while configuring: configure() would otherwise add a second OTLP
        # exporter from OTEL_EXPORTER_OTLP_ENDPOINT and the test trace would arrive twice.
        saved = os.environ.get("OTEL_TRACES_EXPORTER")
        os.environ["OTEL_TRACES_EXPORTER"] = "none"
        try:
            wl.configure(
                service_name=DOCTOR_SERVICE, exporters=[exporter], store=False, detectors=False, sampler=ALWAYS_ON
            )
        finally:
            if saved is None:
                del os.environ["OTEL_TRACES_EXPORTER"]
            else:
                os.environ["OTEL_TRACES_EXPORTER"] = saved
        try:
            with wl.workspace(self.workspace_id, type="coordination", query="otel-worklog doctor end-to-end check"):
                with wl.bot(DOCTOR_BOT, role="checker"):
                    self.trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
                    wl.escalate("otel-worklog doctor: test escalation, no action needed", target="user")
            flushed = wl.force_flush(min(15.0, self.timeout_s))
            stats = [s for s in wl.export_stats() if s.exporter == type(exporter).__name__]
        finally:
            wl.shutdown()
        if int(self.trace_id, 16) == 0:
            raise DoctorError("otel_worklog recorded no span (is OTEL_SDK_DISABLED set?)")
        exported = sum(s.exported for s in stats)
        failed = sum(s.failed + s.dropped for s in stats)
        if not flushed or failed or exported < 3:
            raise DoctorError(
                f"{endpoint} did not accept the trace ({exported} spans exported, {failed} failed or dropped)"
            )
        return f"trace {self.trace_id}: {exported} spans accepted by {endpoint}"

    def check_tempo_trace(self) -> str:
        url = f"{self.tempo_url}/api/v2/traces/{self.trace_id}"

        def attempt() -> str | None:
            status, body = _get_json(url)
            if status == 404:
                return None
            if status != 200:
                raise DoctorError(f"{url} answered HTTP {status}")
            spans = list(_spans(body))
            for span in spans:
                if span.get("name") == sc.ESCALATION_SPAN_NAME and _attribute(span, sc.WORKLOG_ESCALATION) in (
                    True,
                    "true",
                ):
                    return f"{len(spans)} spans, including the {sc.ESCALATION_SPAN_NAME!r} span"
            return None

        return self._poll(attempt, f"trace {self.trace_id} with an escalation span in Tempo")

    def check_tempo_search(self) -> str:
        query = f"{{ span.{sc.WORKSPACE_ID} = {traceql_string(self.workspace_id)} }}"
        now = int(time.time())
        url = f"{self.tempo_url}/api/search?" + urllib.parse.urlencode(
            {"q": query, "start": now - 3600, "end": now + 600, "limit": 20}
        )
        wanted = self.trace_id.lstrip("0")  # search results may trim leading zeros (tempo#4723)

        def attempt() -> str | None:
            status, body = _get_json(url)
            if status != 200:
                raise DoctorError(f"Tempo search answered HTTP {status}")
            traces = body.get("traces") if isinstance(body, dict) else None
            for found in traces or []:
                if str(found.get("traceID", "")).lower().lstrip("0") == wanted:
                    return f"found by {query}"
            return None

        return self._poll(attempt, f"TraceQL {query} to return trace {self.trace_id}")

    def check_metrics(self) -> str:
        matchers = ", ".join(
            (
                f"{sc.prometheus_label(sc.WORKSPACE_ID)}={promql_string(self.workspace_id)}",
                f"{sc.prometheus_label(sc.WORKLOG_ESCALATION)}={promql_string('true')}",
            )
        )
        selector = f"{METRIC_CALLS}{{{matchers}}}"
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": selector})

        def attempt() -> str | None:
            status, body = _get_json(url)
            if status != 200 or not isinstance(body, dict) or body.get("status") != "success":
                raise DoctorError(f"Prometheus query answered HTTP {status}")
            result = (body.get("data") or {}).get("result") or []
            if result:
                return f"{len(result)} series of {selector}"
            return None

        return self._poll(attempt, f"series {selector} (collector flush 15s + scrape 15s)")

    def check_alert(self) -> str:
        url = f"{self.prometheus_url}/api/v1/alerts"
        label = sc.prometheus_label(sc.WORKSPACE_ID)

        def attempt() -> str | None:
            status, body = _get_json(url)
            if status != 200 or not isinstance(body, dict) or body.get("status") != "success":
                raise DoctorError(f"Prometheus alerts answered HTTP {status}")
            for alert in (body.get("data") or {}).get("alerts") or []:
                labels = alert.get("labels") or {}
                if labels.get("alertname") == ALERT_ESCALATION and labels.get(label) == self.workspace_id:
                    state = alert.get("state")
                    if state in ("pending", "firing"):
                        return f"{state} for {label}={self.workspace_id}"
            return None

        return self._poll(attempt, f"alert {ALERT_ESCALATION} for {label}={self.workspace_id}")


def doctor(
    collector_health: str | None = None,
    otlp_endpoint: str | None = None,
    tempo: str | None = None,
    prometheus: str | None = None,
    timeout: float | None = None,
) -> None:
    """Check a running stack end to end: collector, Tempo, Prometheus and the escalation alert."""
    endpoint = otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_OTLP_ENDPOINT
    checker = Doctor(
        health_url=params.resolve(params.COLLECTOR_HEALTH_URL, collector_health),
        otlp_endpoint=endpoint,
        tempo_url=params.resolve(params.TEMPO_URL, tempo),
        prometheus_url=params.resolve(params.PROMETHEUS_URL, prometheus),
        timeout_s=params.resolve(params.DOCTOR_TIMEOUT_S, timeout),
    )
    if not checker.run():
        raise SystemExit(1)
