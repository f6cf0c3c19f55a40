"""Process-wide runtime state: the tracer in use and the resolved settings.

``STATE.tracer`` is ``None`` until :func:`otel_worklog.configure` runs, which is
what makes every call a cheap no-op before then.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

from otel_worklog._internal import settings as params
from otel_worklog._internal.forks import watch_forks
from otel_worklog._internal.record.content import ContentPolicy
from otel_worklog._internal.record.scrubbing import DEFAULT_SCRUBBER, NOOP_SCRUBBER
from otel_worklog._internal.semconv import INSTRUMENTATION_SCOPE
from otel_worklog._internal.version import __version__

logger = logging.getLogger("otel_worklog")

#: The SDK's defaults for the limits below (``opentelemetry.sdk.trace.SpanLimits``).
_SDK_DEFAULT_LIMIT = 128


def sdk_limit(variable: str, fallback: str | None = None) -> int | None:
    """A span limit as the SDK reads it from the environment; None means unlimited.

    Recording uses only the API, so it reads the standard variables the SDK's ``SpanLimits``
    reads, with the same fallback (``OTEL_ATTRIBUTE_COUNT_LIMIT``) and default (128).
    """
    for name in (variable, fallback):
        if name is None or name not in os.environ:
            continue
        raw = os.environ[name].strip()
        if raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value >= 0:
            return value
        logger.warning("otel_worklog: %s=%r is not a whole number; assuming %d", name, raw, _SDK_DEFAULT_LIMIT)
        return _SDK_DEFAULT_LIMIT
    return _SDK_DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    content: ContentPolicy
    info_sample_rate: float
    confidence_threshold: float
    #: Events a span keeps (``OTEL_SPAN_EVENT_COUNT_LIMIT``); None: no limit.
    event_limit: int | None = _SDK_DEFAULT_LIMIT
    #: Attributes an event keeps (``OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT``); None: no limit.
    event_attribute_limit: int | None = _SDK_DEFAULT_LIMIT

    @staticmethod
    def resolve(
        *,
        capture_content: Any = None,
        redact: Any = None,
        info_sample_rate: Any = None,
        confidence_threshold: Any = None,
        max_value_length: Any = None,
    ) -> RuntimeConfig:
        scrubber = DEFAULT_SCRUBBER if params.resolve(params.REDACT, redact) else NOOP_SCRUBBER
        content = ContentPolicy(
            scrubber=scrubber,
            max_length=params.resolve(params.MAX_VALUE_LENGTH, max_value_length),
            capture_content=params.resolve(params.CAPTURE_CONTENT, capture_content),
        )
        return RuntimeConfig(
            content=content,
            info_sample_rate=params.resolve(params.INFO_SAMPLE_RATE, info_sample_rate),
            confidence_threshold=params.resolve(params.CONFIDENCE_THRESHOLD, confidence_threshold),
            event_limit=sdk_limit("OTEL_SPAN_EVENT_COUNT_LIMIT"),
            event_attribute_limit=sdk_limit("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"),
        )


class _State:
    __slots__ = ("__weakref__", "config", "lock", "provider", "tracer")

    def __init__(self) -> None:
        self.tracer: trace.Tracer | None = None
        self.provider: trace.TracerProvider | None = None
        self.config: RuntimeConfig = RuntimeConfig.resolve()
        self.lock = threading.RLock()
        watch_forks(self, _State._new_lock)

    def _new_lock(self) -> None:
        """In a forked child: the parent's lock may have been held by one of its other threads."""
        self.lock = threading.RLock()


STATE = _State()

_TRACERS: weakref.WeakKeyDictionary[Any, trace.Tracer] = weakref.WeakKeyDictionary()


def tracer_from(provider: trace.TracerProvider) -> trace.Tracer:
    """The otel_worklog tracer of ``provider`` (cached: get_tracer is not free)."""
    try:
        tracer = _TRACERS.get(provider)
    except TypeError:  # a provider that cannot be weakly referenced
        return provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)
    if tracer is None:
        tracer = provider.get_tracer(INSTRUMENTATION_SCOPE, __version__)
        _TRACERS[provider] = tracer
    return tracer


def active_tracer(provider: trace.TracerProvider | None) -> trace.Tracer | None:
    """The tracer an entry point should use, or None for "do nothing"."""
    if provider is None:
        return STATE.tracer
    return tracer_from(provider)
