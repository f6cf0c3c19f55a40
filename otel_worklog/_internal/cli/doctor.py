"""``otel-worklog doctor``: prove that a running stack works, end to end.

The bundled stack (``docker compose up -d``) has several moving parts: the collector
redacts, computes span metrics and tail-samples; Tempo stores; Prometheus scrapes and
alerts. A dashboard that stays empty does not say which part is broken, so the doctor
walks the path a real escalation takes and prints one PASS/FAIL line per hop, each
failure with its likely cause:

1. the collector's health_check answers;
2. a test trace with an escalation, recorded through the public API and sent with the
   OTLP/HTTP exporter, is accepted by the collector;
3. Tempo returns that trace by id, and
4. finds it with TraceQL on ``workspace.id``;
5. Prometheus has the span-metric series of the escalation;
6. the ``WorklogEscalation`` alert is pending or firing for the test workspace.

Only what may still come (a trace held by tail sampling, a series not scraped yet) is
polled until the deadline; an address that refuses connections fails its step at once.
Every connection, request and export waits at most what is left of the timeout (and never
more than 5 s), so a host that drops packets cannot hang a step either; a step that starts
past the deadline gets one short last try. The clock and the sleep are injectable, so tests
never wait in real time.

The test trace is recorded on a tracer provider of the doctor's own and exported once,
directly: the process's OpenTelemetry setup and environment are neither used nor changed,
and what the SDK logs while exporting becomes the step's reason instead of lines of its own.
Every run uses a fresh workspace id (``otel-worklog-doctor-<hex>``), so an old run can never
make a new one pass. Step 6 really fires the escalation alert, for that workspace, until it
resolves ten minutes later.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import secrets
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal import settings as params
from otel_worklog._internal.cli.common import emit_json
from otel_worklog._internal.cli.options import Command, add_json, at_least
from otel_worklog._internal.query.ids import normalize_trace_id
from otel_worklog._internal.query.otlp_json import decode_resource_spans
from otel_worklog._internal.query.tempo import traceql_string
from otel_worklog._internal.render.units import plural

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "ALERT_ESCALATION",
    "COMMAND",
    "LIKELY_CAUSES",
    "METRIC_CALLS",
    "Doctor",
    "StepResult",
    "doctor",
    "promql_string",
    "traceql_string",
]

#: Names the doctor expects from the bundled configs (tests/stack checks them against the files).
ALERT_ESCALATION = "WorklogEscalation"
METRIC_CALLS = "traces_span_metrics_calls_total"
DOCTOR_SERVICE = "otel-worklog-doctor"
DOCTOR_BOT = "doctor"
DOCTOR_WORKSPACE_PREFIX = "otel-worklog-doctor-"

DEFAULT_OTLP_ENDPOINT = "http://localhost:4318"
#: The longest one connection, request or export may wait, whatever is left of the run's timeout.
_REQUEST_TIMEOUT_S = 5.0
#: What a step that starts once the run's timeout has passed still gets: one short try.
_LAST_TRY_S = 0.5
_LONGEST_REASON = 300

STEP_HEALTH: Final = "collector health"
STEP_SEND: Final = "send a trace with an escalation"
STEP_TEMPO_TRACE: Final = "Tempo: trace by id"
STEP_TEMPO_SEARCH: Final = f"Tempo: TraceQL on {sc.WORKSPACE_ID}"
STEP_SERIES: Final = "Prometheus: span-metric series"
STEP_ALERT: Final = f"Prometheus: alert {ALERT_ESCALATION}"

#: What most often makes each step fail, printed with its FAIL line (the README's table says the same).
LIKELY_CAUSES: Final = {
    STEP_HEALTH: "the stack is not up: check `docker compose ps` and `docker compose logs otel-collector`",
    STEP_SEND: "nothing takes OTLP/HTTP there: check --otlp-endpoint and `docker compose logs otel-collector`",
    STEP_TEMPO_TRACE: "tail sampling holds traces 30 s, or Tempo is still starting: check `docker compose logs tempo`",
    STEP_TEMPO_SEARCH: "Tempo has not indexed the trace yet: check `docker compose logs tempo`",
    STEP_SERIES: "Prometheus cannot scrape the collector's otel-collector:8889: see {prometheus}/targets",
    STEP_ALERT: "the alert rules did not load: see {prometheus}/rules",
}


class DoctorError(Exception):
    """One step's failure, with the one-line reason shown to the user."""


class Unreachable(DoctorError):
    """Nothing answers at the address: waiting would not help."""


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step: ``ok`` is None when the step was skipped."""

    name: str
    ok: bool | None
    detail: str
    cause: str = ""

    @property
    def status(self) -> str:
        return "skip" if self.ok is None else ("pass" if self.ok else "fail")

    def line(self) -> str:
        text = f"{self.status.upper():<4}  {self.name:<38} {self.detail}"
        return f"{text}; likely cause: {self.cause}" if self.ok is False and self.cause else text


def promql_string(value: str) -> str:
    """``value`` as a PromQL string literal."""
    return json.dumps(value)


def _refused(reason: object) -> bool:
    """Whether a connection failed because nothing listens there (or the name does not resolve)."""
    return isinstance(reason, ConnectionRefusedError | socket.gaierror)


def _refusal(url: str, timeout_s: float) -> str | None:
    """Why nothing can connect to ``url``'s host and port, known at once; None when something listens."""
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "localhost", port), timeout=timeout_s).close()
    except OSError as exc:
        return str(exc) if _refused(exc) else None
    return None


class _Kept(logging.Handler):
    """Keeps the messages logged to it, one line each."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split())[:_LONGEST_REASON])


@contextlib.contextmanager
def _sdk_log() -> Iterator[list[str]]:
    """What the OpenTelemetry SDK logs meanwhile, kept for the step's line instead of printed among them."""
    sdk = logging.getLogger("opentelemetry")
    kept = _Kept()
    propagate = sdk.propagate
    sdk.addHandler(kept)
    sdk.propagate = False
    try:
        yield kept.messages
    finally:
        sdk.removeHandler(kept)
        sdk.propagate = propagate


class Doctor:
    """Runs the checks in order; ``run()`` prints a line per step and returns True when all pass.

    Each ``check_*`` method is one step and may be called on its own, for example against a
    real Prometheus given by URL with ``workspace_id`` set to a workspace whose series it has.
    """

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
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        workspace_id: str | None = None,
    ) -> None:
        self.health_url = health_url
        self.otlp_endpoint = otlp_endpoint.rstrip("/")
        self.tempo_url = tempo_url.rstrip("/")
        self.prometheus_url = prometheus_url.rstrip("/")
        self.timeout_s = timeout_s
        self.echo = echo
        self.poll_interval_s = poll_interval_s
        self.clock = clock
        self.sleep = sleep
        self.workspace_id = workspace_id or DOCTOR_WORKSPACE_PREFIX + secrets.token_hex(4)
        self.trace_id = ""
        self.results: list[StepResult] = []
        self._trace_start_s = 0
        self._deadline = clock() + timeout_s

    # --- driver ---------------------------------------------------------------
    def run(self) -> bool:
        self._deadline = self.clock() + self.timeout_s
        self.echo(f"otel-worklog doctor: test workspace {self.workspace_id}, timeout {self.timeout_s:g}s")
        self._step(STEP_HEALTH, self.check_health)
        sent = self._step(STEP_SEND, self.send_trace)
        dependent = (
            (STEP_TEMPO_TRACE, self.check_tempo_trace),
            (STEP_TEMPO_SEARCH, self.check_tempo_search),
            (STEP_SERIES, self.check_metrics),
            (STEP_ALERT, self.check_alert),
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
            cause = LIKELY_CAUSES[name].format(prometheus=self.prometheus_url)
            self._record(StepResult(name, False, str(exc), cause))
            return False
        self._record(StepResult(name, True, detail))
        return True

    def _record(self, result: StepResult) -> None:
        self.results.append(result)
        self.echo(result.line())

    def _request_timeout(self) -> float:
        """How long the next connection, request or export may wait: what is left of the run's timeout
        (``--timeout``, else the ``doctor_timeout_s`` setting), at most 5 s, and a short last try past it."""
        return min(_REQUEST_TIMEOUT_S, max(_LAST_TRY_S, self._deadline - self.clock()))

    def _get_json(self, url: str) -> tuple[int, Any]:
        """GET ``url``: (status, parsed JSON or None). Failing to connect raises DoctorError."""
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self._request_timeout()) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            error = Unreachable if _refused(reason) else DoctorError
            raise error(f"cannot reach {url}: {reason}") from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def _poll(self, attempt: Callable[[], str | None], waiting_for: str) -> str:
        """Call ``attempt`` until it returns a detail string, nothing listens, or the shared deadline passes."""
        last_error = ""
        while True:
            try:
                detail = attempt()
                if detail is not None:
                    return detail
            except Unreachable:
                raise
            except DoctorError as exc:
                last_error = f" (last error: {exc})"
            remaining = self._deadline - self.clock()
            if remaining <= 0:
                raise DoctorError(f"timed out waiting for {waiting_for}{last_error}")
            self.sleep(min(self.poll_interval_s, remaining))

    # --- steps ----------------------------------------------------------------
    def check_health(self) -> str:
        status, body = self._get_json(self.health_url)
        if status != 200:
            raise DoctorError(f"{self.health_url} answered HTTP {status}")
        state = body.get("status") if isinstance(body, dict) else None
        return f"{self.health_url} answered 200" + (f" ({state})" if state else "")

    def send_trace(self) -> str:
        """Record one workspace -> bot -> escalation trace through the public API and send it with OTLP/HTTP."""
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import SpanExportResult

        endpoint = self.otlp_endpoint + "/v1/traces"
        refused = _refusal(endpoint, self._request_timeout())
        if refused is not None:
            raise Unreachable(f"{endpoint} did not accept the trace: {refused}")
        spans = self._record_trace()
        exporter = OTLPSpanExporter(endpoint=endpoint, timeout=self._request_timeout())  # retries included
        with _sdk_log() as logged:
            try:
                result = exporter.export(spans)
            finally:
                exporter.shutdown()  # type: ignore[no-untyped-call]
        if result is not SpanExportResult.SUCCESS:
            raise DoctorError(f"{endpoint} did not accept the trace: {logged[-1] if logged else 'the export failed'}")
        return f"trace {self.trace_id}: {plural(len(spans), 'span')} accepted by {endpoint}"

    def _record_trace(self) -> Sequence[ReadableSpan]:
        """The test trace, recorded on a tracer provider of the doctor's own."""
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON

        memory = InMemorySpanExporter()
        provider = TracerProvider(
            resource=Resource.create({SERVICE_NAME: DOCTOR_SERVICE}), sampler=ALWAYS_ON, shutdown_on_exit=False
        )
        provider.add_span_processor(SimpleSpanProcessor(memory))
        try:
            with (
                wl.workspace(
                    self.workspace_id,
                    type="coordination",
                    query="otel-worklog doctor end-to-end check",
                    tracer_provider=provider,
                ),
                wl.bot(DOCTOR_BOT, role="checker", tracer_provider=provider),
            ):
                wl.escalate(
                    "otel-worklog doctor: test escalation, no action needed", target="user", tracer_provider=provider
                )
        finally:
            provider.shutdown()
        spans = memory.get_finished_spans()
        context = spans[0].context if spans else None
        if context is None:
            raise DoctorError("no span was recorded (is OTEL_SDK_DISABLED set?)")
        self.trace_id = format(context.trace_id, "032x")
        self._trace_start_s = min(span.start_time or 0 for span in spans) // 1_000_000_000
        return spans

    def check_tempo_trace(self) -> str:
        url = f"{self.tempo_url}/api/v2/traces/{self.trace_id}"

        def attempt() -> str | None:
            status, body = self._get_json(url)
            if status == 404:
                return None
            if status != 200:
                raise DoctorError(f"{url} answered HTTP {status}")
            spans = decode_resource_spans(body) if isinstance(body, dict) else []
            for span in spans:
                escalation = span.attributes.get(sc.WORKLOG_ESCALATION) in (True, "true")
                if span.name == sc.ESCALATION_SPAN_NAME and escalation:
                    return f"{plural(len(spans), 'span')}, including the {sc.ESCALATION_SPAN_NAME!r} span"
            return None

        return self._poll(attempt, f"trace {self.trace_id} with an escalation span in Tempo")

    def check_tempo_search(self) -> str:
        query = f"{{ span.{sc.WORKSPACE_ID} = {traceql_string(self.workspace_id)} }}"
        window = {"start": self._trace_start_s - 3600, "end": self._trace_start_s + 600}
        url = f"{self.tempo_url}/api/search?" + urllib.parse.urlencode({"q": query, **window, "limit": 20})

        def attempt() -> str | None:
            status, body = self._get_json(url)
            if status != 200:
                raise DoctorError(f"Tempo search answered HTTP {status}")
            traces = body.get("traces") if isinstance(body, dict) else None
            for found in traces or []:
                if normalize_trace_id(found.get("traceID")) == self.trace_id:  # search trims leading zeros
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
            status, body = self._get_json(url)
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
            status, body = self._get_json(url)
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


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--collector-health", metavar="URL", help="health_check URL [env OTEL_WORKLOG_COLLECTOR_HEALTH_URL]."
    )
    parser.add_argument(
        "--otlp-endpoint",
        metavar="URL",
        help="OTLP/HTTP base URL [env OTEL_EXPORTER_OTLP_ENDPOINT, else the local collector].",
    )
    parser.add_argument("--tempo", metavar="URL", help="Tempo HTTP API [env OTEL_WORKLOG_TEMPO_URL].")
    parser.add_argument("--prometheus", metavar="URL", help="Prometheus HTTP API [env OTEL_WORKLOG_PROMETHEUS_URL].")
    parser.add_argument(
        "--timeout", type=at_least(0.0), metavar="SECONDS", help="Seconds to wait for trace, series and alert [180]."
    )
    add_json(parser, help="Print the steps as one JSON object at the end instead of a line each.")


def doctor(
    collector_health: str | None = None,
    otlp_endpoint: str | None = None,
    tempo: str | None = None,
    prometheus: str | None = None,
    timeout: float | None = None,
    as_json: bool = False,
) -> None:
    """Check a running stack end to end: collector, Tempo, Prometheus and the escalation alert."""
    checker = Doctor(
        health_url=params.resolve(params.COLLECTOR_HEALTH_URL, collector_health),
        otlp_endpoint=otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or DEFAULT_OTLP_ENDPOINT,
        tempo_url=params.resolve(params.TEMPO_URL, tempo),
        prometheus_url=params.resolve(params.PROMETHEUS_URL, prometheus),
        timeout_s=params.resolve(params.DOCTOR_TIMEOUT_S, timeout),
        echo=(lambda line: None) if as_json else functools.partial(print, flush=True),
    )
    ok = checker.run()
    if as_json:
        emit_json(
            {
                "ok": ok,
                "workspace": checker.workspace_id,
                "trace_id": checker.trace_id or None,
                "steps": [
                    {"step": r.name, "status": r.status, "detail": r.detail, "likely_cause": r.cause or None}
                    for r in checker.results
                ],
            }
        )
    if not ok:
        raise SystemExit(1)


COMMAND = Command(
    "Check a running stack end to end: collector, Tempo, Prometheus and the escalation alert.", doctor, _options
)
