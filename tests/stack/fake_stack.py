"""A fake of the running stack, on 127.0.0.1, for testing ``otel-worklog doctor``.

These are FAKES because Docker cannot run on the machines the tests run on, so the real
collector, Tempo and Prometheus cannot be started. Only the OTLP side is real: a real
OTLP/HTTP endpoint decodes the protobuf the SDK's exporter sends (opentelemetry-proto).
Everything the fakes answer is derived from the spans actually received, in the documented
shapes:

- collector health_check: ``GET /`` -> ``{"status": "Server available", ...}``;
- Tempo: ``GET /api/v2/traces/<hex>`` -> ``{"trace": {"resourceSpans": [...]}, "status": "COMPLETE"}``
  with base64 ids (OTLP JSON), 404 when unknown; ``GET /api/search?q=<TraceQL>`` ->
  ``{"traces": [{"traceID", "rootServiceName", "rootTraceName", "startTimeUnixNano", "durationMs",
  "spanSets"}], "metrics": {...}}`` with the leading zeros of trace ids trimmed (tempo#4723);
- Prometheus: ``GET /api/v1/query`` (a single selector on traces_span_metrics_calls_total, labels as
  the spanmetrics connector makes them) and ``GET /api/v1/alerts``, both in the
  ``{"status": "success", "data": ...}`` envelope.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from otel_worklog._internal import semconv as sc

#: Span attributes the collector turns into span-metric labels (collector/config.yaml dimensions).
DIMENSIONS = (sc.WORKSPACE_ID, sc.BOT_NAME, sc.WORKLOG_ESCALATION, sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_TOOL_NAME)
#: Where every fake endpoint listens.
HOST = "127.0.0.1"
_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


def _label(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


class FakeStack:
    """Four fake HTTP endpoints sharing what the OTLP endpoint received."""

    def __init__(self, *, health_status: int = 200, tempo_finds: bool = True, alert_state: str = "pending") -> None:
        self.health_status = health_status
        self.tempo_finds = tempo_finds
        self.alert_state = alert_state
        self.received: list[ResourceSpans] = []
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._servers = {role: self._server(role) for role in ("health", "otlp", "tempo", "prometheus")}

    # --- lifecycle ------------------------------------------------------------
    def _server(self, role: str) -> ThreadingHTTPServer:
        stack = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                stack._handle(self, role, "GET")

            def do_POST(self) -> None:
                stack._handle(self, role, "POST")

        server = ThreadingHTTPServer((HOST, 0), Handler)
        server.daemon_threads = True
        return server

    def __enter__(self) -> FakeStack:
        for server in self._servers.values():
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()

    def url(self, role: str) -> str:
        port = self._servers[role].server_address[1]
        return f"http://{HOST}:{port}" + ("/" if role == "health" else "")

    # --- what was received ----------------------------------------------------
    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        """(resource attributes, span) for every received span."""
        with self._lock:
            batches = list(self.received)
        out: list[tuple[dict[str, Any], Span]] = []
        for resource_spans in batches:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                out.extend((resource, span) for span in scope_spans.spans)
        return out

    @staticmethod
    def attributes(span: Span) -> dict[str, Any]:
        return {a.key: _value(a.value) for a in span.attributes}

    # --- HTTP -----------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler, role: str, method: str) -> None:
        url = urlparse(request.path)
        self.requests[f"{role} {method} {url.path}"] += 1
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        try:
            status, body, content_type = getattr(self, f"_{role}")(request, method, url.path, query)
        except Exception as exc:  # a bug in the fake must show up as a 500, not a hang
            status, body, content_type = 500, str(exc).encode(), "text/plain"
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    @staticmethod
    def _json(status: int, payload: Any) -> tuple[int, bytes, str]:
        return status, json.dumps(payload).encode(), "application/json"

    def _health(self, request: Any, method: str, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        if method != "GET" or path != "/":
            return self._json(404, {})
        return self._json(
            self.health_status,
            {"status": "Server available", "upSince": "2026-01-01T00:00:00Z", "uptime": "1h0m0s"},
        )

    def _otlp(self, request: Any, method: str, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        if method != "POST" or path != "/v1/traces":
            return 404, b"", "text/plain"
        if request.headers.get("Content-Type") != "application/x-protobuf":
            return 415, b"", "text/plain"
        raw = request.rfile.read(int(request.headers["Content-Length"]))
        if request.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        message = ExportTraceServiceRequest.FromString(raw)
        with self._lock:
            self.received.extend(message.resource_spans)
        return 200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf"

    def _tempo(self, request: Any, method: str, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        found = re.fullmatch(r"/api/v2/traces/([0-9a-f]{32})", path)
        if found:
            wanted = bytes.fromhex(found.group(1))
            batches = []
            with self._lock:
                for resource_spans in self.received:
                    spans = [s for ss in resource_spans.scope_spans for s in ss.spans if s.trace_id == wanted]
                    if spans and self.tempo_finds:
                        batches.append(MessageToDict(resource_spans))
            if not batches:
                return 404, b"trace not found", "text/plain"
            return self._json(200, {"trace": {"resourceSpans": batches}, "status": "COMPLETE"})
        if path == "/api/search":
            parsed = re.fullmatch(r'\{ span\.([\w.]+) = "((?:[^"\\]|\\.)*)" \}', query.get("q", ""))
            if not parsed:
                return self._json(400, {"error": "unsupported TraceQL in the fake"})
            key, value = parsed.group(1), re.sub(r"\\(.)", r"\1", parsed.group(2))
            traces: dict[bytes, list[Any]] = {}
            for _resource, span in self.spans() if self.tempo_finds else []:
                if self.attributes(span).get(key) == value:
                    traces.setdefault(span.trace_id, []).append(span)
            results = []
            for trace_id, spans in traces.items():
                root = min(spans, key=lambda s: s.start_time_unix_nano)
                results.append(
                    {
                        "traceID": trace_id.hex().lstrip("0"),
                        "rootServiceName": "otel-worklog-doctor",
                        "rootTraceName": root.name,
                        "startTimeUnixNano": str(root.start_time_unix_nano),
                        "durationMs": (root.end_time_unix_nano - root.start_time_unix_nano) // 1_000_000,
                        "spanSets": [{"spans": [{"spanID": s.span_id.hex(), "name": s.name} for s in spans]}],
                    }
                )
            return self._json(200, {"traces": results, "metrics": {"inspectedTraces": len(results)}})
        if path == "/ready":
            return 200, b"ready", "text/plain"
        return 404, b"", "text/plain"

    def _series(self) -> Counter[tuple[tuple[str, str], ...]]:
        """traces_span_metrics_calls_total as the spanmetrics connector would count the received spans."""
        counts: Counter[tuple[tuple[str, str], ...]] = Counter()
        for resource, span in self.spans():
            labels = {
                "service_name": str(resource.get("service.name", "")),
                "span_name": span.name,
                "span_kind": "SPAN_KIND_" + _KINDS[span.kind],
                "status_code": "STATUS_CODE_" + _STATUS[span.status.code],
            }
            attributes = self.attributes(span)
            for name in DIMENSIONS:
                if name in attributes:
                    labels[sc.prometheus_label(name)] = _label(attributes[name])
            counts[tuple(sorted(labels.items()))] += 1
        return counts

    def _prometheus(self, request: Any, method: str, path: str, query: dict[str, str]) -> tuple[int, bytes, str]:
        now = time.time()
        if path == "/api/v1/query":
            selector = re.fullmatch(r"(\w+)\{(.*)\}", query.get("query", ""))
            if not selector:
                return self._json(400, {"status": "error", "errorType": "bad_data", "error": "fake: selector only"})
            matchers = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', selector.group(2)))
            result = []
            if selector.group(1) == "traces_span_metrics_calls_total":
                for labels, count in self._series().items():
                    metric = dict(labels)
                    if all(metric.get(k) == v for k, v in matchers.items()):
                        metric["__name__"] = selector.group(1)
                        result.append({"metric": metric, "value": [now, str(count)]})
            return self._json(200, {"status": "success", "data": {"resultType": "vector", "result": result}})
        if path == "/api/v1/alerts":
            alerts = []
            for labels, count in self._series().items():
                metric = dict(labels)
                if metric.get(sc.prometheus_label(sc.WORKLOG_ESCALATION)) == "true":
                    alerts.append(
                        {
                            "labels": {
                                "alertname": "WorklogEscalation",
                                "severity": "page",
                                "category": "escalation",
                                "service_name": metric["service_name"],
                                "workspace_id": metric.get("workspace_id", ""),
                                "bot_name": metric.get("bot_name", ""),
                            },
                            "annotations": {"summary": "Escalation"},
                            "state": self.alert_state,
                            "activeAt": "2026-01-01T00:00:00Z",
                            "value": f"{count}e+00",
                        }
                    )
            return self._json(200, {"status": "success", "data": {"alerts": alerts}})
        return self._json(404, {"status": "error"})
