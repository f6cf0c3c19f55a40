"""An OTLP endpoint that refuses connections fails an export at once, instead of after retries.

The OTLP exporters retry a refused connection with backoff (1 s, 2 s, ...) until their timeout,
logging a line per attempt: with nothing listening, a script of 0.2 s takes 3 s to exit and prints
three retry lines. Before an export to an endpoint not known to answer (the first export, or any
after a failure), one TCP connect tells a refused or unresolvable endpoint apart; the batch then
fails at once and the batch processor counts it and names the reason in its one warning. An
endpoint that accepts and never answers is left to the exporter's own timeout and shutdown's
deadline. Behind a proxy there is nothing to probe, and every export goes to the exporter.
"""

from __future__ import annotations

import errno
import os
import socket
import time
import urllib.parse
from collections.abc import Sequence
from typing import Final

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["RefusedEndpointGuard", "traces_endpoint"]

#: How long an endpoint that refused is taken at its word before it is tried again.
_RETRY_REFUSED_S: Final = 5.0
#: Longest a probe waits for the connection to be accepted (then the export goes ahead).
_PROBE_TIMEOUT_S: Final = 1.0
_DEFAULT_PORTS: Final = {"https": 443, "http": 80}
_UNREACHABLE: Final = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})


def traces_endpoint() -> str | None:
    """The traces endpoint the standard variables name (the per-signal one first)."""
    for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


def _address(endpoint: str) -> tuple[str, int] | None:
    """(host, port) to probe for ``endpoint``; None when it cannot be told or a proxy stands in between."""
    parts = urllib.parse.urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    if port is None:
        port = _DEFAULT_PORTS.get(parts.scheme or "http")
    if port is None:
        return None
    # Only with an OTLP endpoint: urllib.request takes longer to import than the rest of configure().
    from urllib.request import getproxies, proxy_bypass

    proxies = getproxies()
    if any(proxies.get(key) for key in ("http", "https", "grpc", "all")) and not proxy_bypass(host):
        return None
    return host, port


class RefusedEndpointGuard(SpanExporter):
    """Wraps an OTLP exporter: an export to an endpoint that refuses connections fails without waiting."""

    def __init__(self, exporter: SpanExporter, endpoint: str, *, timeout_s: float) -> None:
        self.exporter = exporter
        self.endpoint = endpoint
        self._address = _address(endpoint)
        self._probe_timeout = min(_PROBE_TIMEOUT_S, timeout_s)
        self._answered = False
        self._refused_until = 0.0
        #: Why the last failed batch failed, when this guard knows (the batch processor's warning says it).
        self.failure_reason: str | None = None

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._address is not None and not self._answered:
            if time.monotonic() < self._refused_until:
                return SpanExportResult.FAILURE
            refusal = self._refusal(self._address)
            if refusal is not None:
                self._refused_until = time.monotonic() + _RETRY_REFUSED_S
                self.failure_reason = f"{self.endpoint} {refusal}"
                return SpanExportResult.FAILURE
        result = self.exporter.export(spans)
        self._answered = result is SpanExportResult.SUCCESS
        self.failure_reason = None
        return result

    def _refusal(self, address: tuple[str, int]) -> str | None:
        """What is wrong with ``address`` when a connection cannot even begin; None when it may answer."""
        try:
            with socket.create_connection(address, timeout=self._probe_timeout):
                return None
        except ConnectionRefusedError:
            return "refused the connection (is the collector running?)"
        except socket.gaierror as exc:
            return f"cannot be resolved ({exc.strerror})"
        except OSError as exc:
            if exc.errno in _UNREACHABLE:
                return f"is unreachable ({exc.strerror})"
            return None  # slow to accept: the exporter tries, within its own timeout

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.exporter.force_flush(timeout_millis)
