"""A stand-in for the collector's ``prometheus`` exporter: span-metric series for Prometheus to scrape.

This is a FAKE of the collector because the collector cannot run here: there is no Docker engine,
and no allowed registry ships an ``otelcol-contrib`` binary. It serves what the ``span_metrics``
connector and ``prometheus`` exporter of ``collector/config.yaml`` would, in the Prometheus text
format: counters named after the connector's namespace, with the connector's own labels
(``service_name``, ``span_name``, ``span_kind``, ``status_code``, ``collector_instance_id``) and
the dimensions listed in ``collector/config.yaml``, translated as Prometheus does (dots become
underscores). Series are either set by the test or counted from real decoded spans.

Everything downstream of this endpoint is real: Prometheus scrapes it with the production scrape
job and evaluates the production rules.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otel_worklog._internal import semconv as sc
from tests.wire.receivers import attributes

from . import stackfiles as sf

#: A series: (metric name, sorted (label, value) pairs).
SeriesKey = tuple[str, tuple[tuple[str, str], ...]]

CALLS = "traces_span_metrics_calls_total"
EVENTS = "traces_span_metrics_events_total"


def series_key(metric: str, labels: Mapping[str, str]) -> SeriesKey:
    return metric, tuple(sorted(labels.items()))


def _label_value(value: Any) -> str:
    """A dimension's value as the connector writes it (pcommon Value.AsString)."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def span_dimensions() -> list[str]:
    """The span dimensions ``collector/config.yaml`` gives the span_metrics connector."""
    return [dimension["name"] for dimension in sf.collector()["connectors"]["span_metrics"]["dimensions"]]


def count_calls(spans: Iterable[tuple[Mapping[str, Any], Span]], *, collector_instance_id: str) -> Counter[SeriesKey]:
    """``traces_span_metrics_calls_total`` as the connector counts ``(resource attributes, span)`` pairs."""
    dimensions = span_dimensions()
    counts: Counter[SeriesKey] = Counter()
    for resource, span in spans:
        labels = {
            "service_name": str(resource.get("service.name", "")),
            "span_name": span.name,
            "span_kind": Span.SpanKind.Name(span.kind),
            "status_code": Status.StatusCode.Name(span.status.code),
            "collector_instance_id": collector_instance_id,
        }
        values = attributes(span.attributes)
        for name in dimensions:
            if name in values:
                labels[sc.prometheus_label(name)] = _label_value(values[name])
        counts[series_key(CALLS, labels)] += 1
    return counts


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(series: Mapping[SeriesKey, float]) -> str:
    """The Prometheus text format (0.0.4) of counters."""
    lines: list[str] = []
    for metric in sorted({metric for metric, _ in series}):
        lines.append(f"# TYPE {metric} counter")
        for (name, labels), value in sorted(series.items()):
            if name == metric:
                rendered = ",".join(f'{label}="{_escape(text)}"' for label, text in labels)
                lines.append(f"{metric}{{{rendered}}} {value:g}")
    return "\n".join(lines) + "\n"


class SpanMetricsEndpoint:
    """``GET /metrics`` on 127.0.0.1: the series set with :meth:`set`, plus those of ``source`` if given."""

    def __init__(self, source: Callable[[], Mapping[SeriesKey, float]] | None = None) -> None:
        self._series: dict[SeriesKey, float] = {}
        self._source = source
        self._lock = threading.Lock()
        self.scrapes = 0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                body = endpoint.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.target = f"127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> SpanMetricsEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def set(self, metric: str, labels: Mapping[str, str], value: float) -> None:
        with self._lock:
            self._series[series_key(metric, labels)] = value

    def render(self) -> str:
        with self._lock:
            self.scrapes += 1
            series = dict(self._series)
        if self._source is not None:
            series.update(self._source())
        return exposition(series)
