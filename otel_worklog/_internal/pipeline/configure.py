"""``configure()``: the one place otel_worklog touches the OpenTelemetry SDK.

It resolves settings (argument > environment > default), picks or builds the
tracer provider, and installs one :class:`WorklogSpanProcessor` on it whose
children (one bounded batch processor per exporter, plus the optional
detectors and insight delivery) are replaced as a unit on every call, so
calling it twice is safe.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar, Final

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from otel_worklog._internal import semconv as sc
from otel_worklog._internal import settings as params
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.pipeline.batch import BoundedBatchSpanProcessor, ExportStats
from otel_worklog._internal.pipeline.processors import WorklogSpanProcessor, flush_children, shutdown_children
from otel_worklog._internal.pipeline.reachability import RefusedEndpointGuard, traces_endpoint
from otel_worklog._internal.pipeline.sampling import WorklogSampler, sampler_from_env
from otel_worklog._internal.pipeline.sizing import OTLP_REQUEST, STORE_TRANSACTION
from otel_worklog._internal.record.ledger import DROPPED
from otel_worklog._internal.record.state import STATE, RuntimeConfig, tracer_from

logger = logging.getLogger("otel_worklog")

_PROCESSORS: weakref.WeakKeyDictionary[TracerProvider, WorklogSpanProcessor] = weakref.WeakKeyDictionary()
_OWNED: dict[str, TracerProvider] = {}
_atexit_registered = False
_dropped_reported = 0
#: The batch processors the last shutdown() stopped: their final counts (until the next configure()).
_stopped: list[BoundedBatchSpanProcessor] = []
#: The store the current configuration writes to (None: off), which the reply helpers read by default.
_store_path: Path | None = None


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() == "true"


def _resource(service_name: str | None) -> Resource:
    """service.name: argument > OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES > OTEL_WORKLOG_SERVICE_NAME."""
    resource = Resource.create({})
    if service_name:
        return resource.merge(Resource({SERVICE_NAME: service_name}))
    current = resource.attributes.get(SERVICE_NAME)
    if not current or str(current).startswith("unknown_service"):
        return resource.merge(Resource({SERVICE_NAME: params.resolve(params.SERVICE_NAME)}))
    return resource


def _pick_provider(
    tracer_provider: trace.TracerProvider | None, service_name: str | None, sampler: Sampler | None
) -> trace.TracerProvider:
    if tracer_provider is not None:
        return tracer_provider
    resource = _resource(service_name)
    owned = _OWNED.get("provider")
    if owned is not None and owned.resource == resource:
        if isinstance(owned.sampler, WorklogSampler):
            owned.sampler.base = sampler if sampler is not None else sampler_from_env()
        return owned
    global_provider = trace.get_tracer_provider()
    if owned is None and isinstance(global_provider, TracerProvider):
        # The app set up the SDK itself: add to its provider, replace nothing.
        return global_provider
    provider = TracerProvider(
        resource=resource, sampler=WorklogSampler(sampler if sampler is not None else sampler_from_env())
    )
    if owned is None:
        trace.set_tracer_provider(provider)
    _OWNED["provider"] = provider
    return provider


def _otlp_exporter(timeout_s: float) -> SpanExporter | None:
    """The OTLP exporter the standard OTEL_* variables ask for, or None when they name no destination.

    It is wrapped in a guard that fails an export at once while the endpoint refuses connections.
    """
    wanted = {e.strip().lower() for e in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()}
    endpoint = traces_endpoint()
    if "none" in wanted or not (endpoint or "otlp" in wanted):
        return None
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()
    exporter: SpanExporter
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        exporter = GrpcExporter(timeout=timeout_s)
        default_endpoint = "http://localhost:4317"
    else:
        if protocol != "http/protobuf":
            logger.warning("otel_worklog: OTLP protocol %r is not supported; using http/protobuf", protocol)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        exporter = HttpExporter(timeout=timeout_s)
        default_endpoint = "http://localhost:4318"
    return RefusedEndpointGuard(exporter, endpoint or default_endpoint, timeout_s=timeout_s)


def _console_exporter() -> SpanExporter | None:
    wanted = {e.strip().lower() for e in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")}
    if "console" not in wanted:
        return None
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    return ConsoleSpanExporter()


def _store(store: params.StoreChoice) -> tuple[SpanExporter | None, Path | None]:
    try:
        from otel_worklog._internal import store as store_module

        return store_module.create_store_exporter(store), store_module.resolve_store_path(store)
    except Exception:
        logger.warning("otel_worklog: the local trace store could not be opened; continuing without it", exc_info=True)
        return None, None


class _EventLimitWatch(SpanProcessor):
    """Counts the events the SDK's event limit dropped from ending spans that hold work-log entries.

    otel_worklog's own spans continue on a child span instead of dropping any (record/ledger.py);
    spans other code started cannot, and the recording side does not count their events per entry.
    """

    #: A span without events dropped none: the fan-out skips it (processors.WorklogSpanProcessor).
    ends_only_with_events: ClassVar[bool] = True

    def on_end(self, span: ReadableSpan) -> None:
        dropped = span.dropped_events
        if dropped and any(sc.WORKLOG_LEVEL in (event.attributes or {}) for event in span.events):
            DROPPED.add(dropped, span.name, STATE.config.event_limit)


def _extension_processors(
    detectors: params.DetectorChoice, provider: TracerProvider, store_path: Path | None
) -> list[Any]:
    found: list[Any] = [_EventLimitWatch()]
    try:
        from otel_worklog._internal.pipeline.detectors import create_detector_processor

        found.append(create_detector_processor(detectors, provider))
    except Exception:
        log_internal_error()
    try:
        from otel_worklog._internal.pipeline.insights import create_insight_processor

        found.append(create_insight_processor(store_path))
    except Exception:
        log_internal_error()
    return [p for p in found if p is not None]


def configure(
    *,
    service_name: str | None = None,
    tracer_provider: trace.TracerProvider | None = None,
    exporters: Iterable[SpanExporter] = (),
    store: params.StoreChoice = ...,
    capture_content: bool | None = None,
    redact: bool | None = None,
    info_sample_rate: float | None = None,
    confidence_threshold: float | None = None,
    max_value_length: int | None = None,
    detectors: params.DetectorChoice = None,
    sampler: Sampler | None = None,
) -> trace.TracerProvider:
    """Set up tracing for otel_worklog and return the tracer provider in use.

    Args:
        service_name: ``service.name``; else ``OTEL_SERVICE_NAME``, else ``OTEL_WORKLOG_SERVICE_NAME``.
        tracer_provider: an SDK provider the app already built; otel_worklog adds its processor and
            replaces nothing. Install :class:`WorklogSampler` on it yourself to keep escalations
            of sampled-out traces.
        exporters: extra span exporters (each behind its own bounded batch processor).
        store: the local trace store: a path, or ``False``/``None``/``"none"`` for off;
            default ``OTEL_WORKLOG_STORE``, else the documented default path.
        capture_content: record tool arguments/results and entry details (default on).
        redact: redact secrets (default on).
        info_sample_rate: share of info/thinking entries kept (default 1.0).
        confidence_threshold: decisions below it are flagged uncertain (default 0.7).
        max_value_length: longest recorded value in characters (default 16 KiB).
        detectors: live detectors: True, False or a dict of per-detector settings.
        sampler: the head sampler for otel_worklog's own provider (default from ``OTEL_TRACES_SAMPLER``).
    """
    params.check_environment()
    with STATE.lock:
        if _env_true("OTEL_SDK_DISABLED"):
            _shutdown_locked(params.resolve(params.SHUTDOWN_TIMEOUT_S))
            return trace.NoOpTracerProvider()
        STATE.config = RuntimeConfig.resolve(
            capture_content=capture_content,
            redact=redact,
            info_sample_rate=info_sample_rate,
            confidence_threshold=confidence_threshold,
            max_value_length=max_value_length,
        )
        provider = _pick_provider(tracer_provider, service_name, sampler)
        if not isinstance(provider, TracerProvider):
            logger.warning(
                "otel_worklog: %s is not an SDK TracerProvider; spans go wherever it sends them",
                type(provider).__name__,
            )
            STATE.tracer = tracer_from(provider)
            return provider
        processor = _PROCESSORS.get(provider)
        if processor is None:
            processor = WorklogSpanProcessor()
            provider.add_span_processor(processor)
            _PROCESSORS[provider] = processor
        old = processor.children
        children = _build_children(old, list(exporters), store, detectors, provider)
        _stopped.clear()
        processor.replace_children(children)
        shutdown_children([c for c in old if c not in children], params.resolve(params.SHUTDOWN_TIMEOUT_S))
        _shutdown_other_providers(provider)
        STATE.tracer = tracer_from(provider)
        STATE.provider = provider
        _register_atexit()
        return provider


def _build_children(
    old: tuple[SpanProcessor, ...],
    exporters: list[SpanExporter],
    store: params.StoreChoice,
    detectors: params.DetectorChoice,
    provider: TracerProvider,
) -> list[SpanProcessor]:
    timeout_s = params.resolve(params.EXPORT_TIMEOUT_S)
    reusable = {id(c.exporter): c for c in old if isinstance(c, BoundedBatchSpanProcessor)}
    makers: tuple[Callable[[], SpanExporter | None], ...] = (lambda: _otlp_exporter(timeout_s), _console_exporter)
    for maker in makers:
        try:
            exporter = maker()
        except Exception:
            logger.warning("otel_worklog: could not create an exporter from OTEL_* settings", exc_info=True)
            exporter = None
        if exporter is not None:
            exporters.append(exporter)
    global _store_path
    store_exporter, store_path = _store(store)
    _store_path = store_path if store_exporter is not None else None
    if store_exporter is not None:
        exporters.append(store_exporter)
    # Detectors and insights come first: flushed and shut down before the exporters, their last
    # alert spans are still exported.
    children: list[SpanProcessor] = _extension_processors(detectors, provider, store_path)
    for exporter in exporters:
        reused = reusable.get(id(exporter))
        children.append(reused if reused is not None else _batch_processor(exporter, store=exporter is store_exporter))
    return children


def _batch_processor(exporter: SpanExporter, *, store: bool) -> BoundedBatchSpanProcessor:
    """The bounded batch processor for ``exporter``, its batches cut to what the destination takes at once."""
    inner = exporter.exporter if isinstance(exporter, RefusedEndpointGuard) else exporter
    limit = None
    if store:
        limit = STORE_TRANSACTION
    elif type(inner).__module__.startswith("opentelemetry.exporter.otlp"):
        limit = OTLP_REQUEST
    return BoundedBatchSpanProcessor(
        exporter,
        name=type(inner).__name__,
        max_queue_size=params.resolve(params.MAX_QUEUE_SIZE),
        max_export_batch_size=params.resolve(params.MAX_EXPORT_BATCH_SIZE),
        schedule_delay_s=params.resolve(params.SCHEDULE_DELAY_MS) / 1000,
        limit=limit,
    )


def _shutdown_other_providers(current: TracerProvider) -> None:
    """A new configure() on another provider retires our processors on the previous one."""
    for provider, processor in list(_PROCESSORS.items()):
        if provider is not current and processor.children:
            shutdown_children(processor.replace_children(()), params.resolve(params.SHUTDOWN_TIMEOUT_S))


def configured_store() -> Path | None:
    """Where the current configuration's local store is; None when it has none."""
    return _store_path


def force_flush(timeout_s: float | None = None) -> bool:
    """Export everything buffered now; False if the deadline passed first."""
    timeout = params.resolve(params.SHUTDOWN_TIMEOUT_S, timeout_s)  # a bad value warns and falls back; never raises
    processors = list(_PROCESSORS.values())
    ok = True
    for processor in processors:
        ok = flush_children(processor.children, timeout) and ok
    return ok


def shutdown(timeout_s: float | None = None) -> None:
    """Flush and stop every exporter within ``timeout_s``; afterwards every call is a no-op again."""
    timeout = params.resolve(params.SHUTDOWN_TIMEOUT_S, timeout_s)  # a bad value warns and falls back; never raises
    with STATE.lock:
        _shutdown_locked(timeout)
    _report_dropped_entries()


def _report_dropped_entries() -> None:
    """One warning with the number of work-log entries past the SDK's event limit on spans we did not start."""
    global _dropped_reported
    dropped = DROPPED.count
    if dropped > _dropped_reported:
        logger.warning(
            "otel_worklog: %d work-log entries were lost to the span event limit (OTEL_SPAN_EVENT_COUNT_LIMIT)",
            dropped - _dropped_reported,
        )
        _dropped_reported = dropped


def _shutdown_locked(timeout_s: float) -> None:
    global _stopped
    STATE.tracer = None
    STATE.provider = None
    stopped: list[BoundedBatchSpanProcessor] = []
    for processor in list(_PROCESSORS.values()):
        # Shut down while still attached: the detectors go first, and what they raise on the way out
        # (alert spans) still reaches the exporters after them.
        children = processor.children
        shutdown_children(children, timeout_s)
        processor.replace_children(())
        stopped += [child for child in children if isinstance(child, BoundedBatchSpanProcessor)]
    if stopped:
        _stopped = stopped


def export_stats() -> list[ExportStats]:
    """Queued, exported, failed, dropped and abandoned span counts for each exporter in use.

    After ``shutdown()``, the final counts of the exporters it stopped (what its deadline abandoned
    included), until the next ``configure()``.
    """
    live = [
        child.stats()
        for processor in _PROCESSORS.values()
        for child in processor.children
        if isinstance(child, BoundedBatchSpanProcessor)
    ]
    return live or [child.stats() for child in _stopped]


def _register_atexit() -> None:
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(shutdown)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=_before_fork)
        _atexit_registered = True


class _ForkedChildren:
    """The key multiprocessing's after-fork registry keeps (it holds it weakly)."""


_MULTIPROCESSING_KEY: Final = _ForkedChildren()
_multiprocessing_watched = False


def _before_fork() -> None:
    """A ``multiprocessing`` child leaves through ``os._exit``: no atexit handler runs there, only its
    finalizers. Once multiprocessing is in use, each of its children shuts otel_worklog down on the way out."""
    global _multiprocessing_watched
    util = sys.modules.get("multiprocessing.util")
    if util is not None and not _multiprocessing_watched:
        _multiprocessing_watched = True
        util.register_after_fork(_MULTIPROCESSING_KEY, _shutdown_at_child_exit)


def _shutdown_at_child_exit(_key: object) -> None:
    sys.modules["multiprocessing.util"].Finalize(None, shutdown, exitpriority=0)
