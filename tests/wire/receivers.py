"""Real OTLP receivers on 127.0.0.1 for wire-format tests.

Both decode what arrives with ``opentelemetry-proto`` exactly as a collector would,
and keep every request (with its headers or gRPC metadata) for assertions:

- :class:`OtlpHttpReceiver`: ``POST /v1/traces`` over HTTP/1.1 (``http.server``),
  protobuf bodies, optionally gzip-compressed.
- :class:`OtlpGrpcReceiver`: the ``opentelemetry.proto.collector.trace.v1.TraceService``
  on a ``grpcio`` server.

A receiver can also misbehave, for the backend-down tests: ``mode="refuse"`` answers
every export with 503 (HTTP) or UNAVAILABLE (gRPC), ``mode="slow"`` waits ``delay_s``
before answering.
"""

from __future__ import annotations

import gzip
import http.server
import socket
import sys
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass
from typing import Any, Literal

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

Mode = Literal["ok", "refuse", "slow"]


@dataclass(frozen=True)
class ReceivedSpan:
    """One decoded span with the resource and instrumentation scope it arrived under."""

    span: Span
    resource: Resource
    scope_name: str

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def attributes(self) -> dict[str, Any]:
        return attributes(self.span.attributes)

    @property
    def resource_attributes(self) -> dict[str, Any]:
        return attributes(self.resource.attributes)


@dataclass(frozen=True)
class ReceivedRequest:
    """One export request: the decoded message and the headers (lower-cased) or gRPC metadata."""

    message: trace_service_pb2.ExportTraceServiceRequest
    headers: Mapping[str, str | bytes]  # bytes only for gRPC's binary ("-bin") metadata
    raw_size: int


def value_of(value: AnyValue) -> Any:
    """The Python value of an OTLP ``AnyValue``, keeping its wire type (bool, int, float, str, list)."""
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [value_of(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    if kind is None:
        return None
    return getattr(value, kind)


def wire_type(value: AnyValue) -> str:
    """The OTLP field a value was encoded in: ``bool_value``, ``int_value``, ``double_value``, ..."""
    return value.WhichOneof("value") or "empty"


def attributes(pairs: Iterator[KeyValue] | Any) -> dict[str, Any]:
    return {pair.key: value_of(pair.value) for pair in pairs}


def wire_types(pairs: Iterator[KeyValue] | Any) -> dict[str, str]:
    """Attribute key -> the OTLP field its value arrived in (for element types, ``array_value[<field>]``)."""
    found: dict[str, str] = {}
    for pair in pairs:
        kind = wire_type(pair.value)
        if kind == "array_value":
            inner = {wire_type(v) for v in pair.value.array_value.values}
            kind = f"array_value[{','.join(sorted(inner))}]"
        found[pair.key] = kind
    return found


class _Store:
    """Thread-safe list of received requests, with a wait for a span count."""

    def __init__(self) -> None:
        self._requests: list[ReceivedRequest] = []
        self._span_count = 0
        self._changed = threading.Condition()
        self.attempts = 0

    def count_attempt(self) -> None:
        with self._changed:
            self.attempts += 1
            self._changed.notify_all()

    def add(self, request: ReceivedRequest) -> None:
        count = sum(len(ss.spans) for rs in request.message.resource_spans for ss in rs.scope_spans)
        with self._changed:
            self._requests.append(request)
            self._span_count += count
            self._changed.notify_all()

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._changed:
            return list(self._requests)

    @property
    def span_count(self) -> int:
        with self._changed:
            return self._span_count

    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far, in arrival order."""
        return [
            ReceivedSpan(span, rs.resource, ss.scope.name)
            for request in self.requests
            for rs in request.message.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]

    def span(self, name: str) -> ReceivedSpan:
        """The one received span called ``name``."""
        found = [s for s in self.spans() if s.name == name]
        assert len(found) == 1, f"expected one span {name!r}, received {[s.name for s in self.spans()]}"
        return found[0]

    def wait_for_spans(self, count: int, timeout_s: float = 30.0) -> int:
        """Block until at least ``count`` spans arrived (or the timeout passed); returns the count."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self._span_count < count and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return self._span_count

    def wait_for_attempts(self, count: int, timeout_s: float = 30.0) -> int:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while self.attempts < count and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
            return self.attempts


class _Misbehaviour:
    def __init__(self, mode: Mode, delay_s: float) -> None:
        self.mode = mode
        self.delay_s = delay_s
        self.released = threading.Event()

    def stall(self) -> None:
        """In slow mode, wait ``delay_s`` (cut short when the receiver closes)."""
        if self.mode == "slow":
            self.released.wait(self.delay_s)


class _QuietServer(http.server.ThreadingHTTPServer):
    """A client that gives up on a slow answer (a shutdown deadline) is no error of the receiver's."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class OtlpHttpReceiver(_Store):
    """An OTLP/HTTP trace receiver on 127.0.0.1 and an ephemeral port."""

    def __init__(self, mode: Mode = "ok", delay_s: float = 0.0) -> None:
        super().__init__()
        self.behaviour = _Misbehaviour(mode, delay_s)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.count_attempt()
                receiver.behaviour.stall()
                if self.path != "/v1/traces":
                    self._reply(404, b"")
                    return
                if receiver.behaviour.mode == "refuse":
                    self._reply(503, b"")
                    return
                encoding = (self.headers.get("Content-Encoding") or "").lower()
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                message = trace_service_pb2.ExportTraceServiceRequest()
                message.ParseFromString(body)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.add(ReceivedRequest(message, headers, len(body)))
                self._reply(200, trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="otlp-http-receiver", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self.behaviour.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OtlpGrpcReceiver) -> None:
        self._receiver = receiver

    def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        receiver = self._receiver
        receiver.count_attempt()
        receiver.behaviour.stall()
        if receiver.behaviour.mode == "refuse":
            context.abort(grpc.StatusCode.UNAVAILABLE, "receiver refuses on purpose")
        metadata = {key.lower(): value for key, value in context.invocation_metadata()}
        receiver.add(ReceivedRequest(request, metadata, request.ByteSize()))
        return trace_service_pb2.ExportTraceServiceResponse()


class OtlpGrpcReceiver(_Store):
    """An OTLP/gRPC trace receiver (plaintext) on 127.0.0.1 and an ephemeral port."""

    def __init__(self, mode: Mode = "ok", delay_s: float = 0.0) -> None:
        super().__init__()
        self.behaviour = _Misbehaviour(mode, delay_s)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        # The generated gRPC module has no type annotations.
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _TraceService(self), self._server
        )
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server.start()

    def close(self) -> None:
        self.behaviour.released.set()
        self._server.stop(grace=None).wait(5)


Receiver = OtlpHttpReceiver | OtlpGrpcReceiver


def unused_port() -> int:
    """A local port nothing listens on (bound, then released), for a refusing backend."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
