"""Process-wide runtime state: the tracer in use and the resolved settings.

``STATE.tracer`` is ``None`` until :func:`otel_worklog.configure` runs, which is
what makes every call a cheap no-op before then.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace

from otel_worklog._internal import settings as params
from otel_worklog._internal.record.content import ContentPolicy
from otel_worklog._internal.record.scrubbing import DEFAULT_SCRUBBER, NOOP_SCRUBBER
from otel_worklog._internal.semconv import INSTRUMENTATION_SCOPE
from otel_worklog._internal.version import __version__


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    content: ContentPolicy
    info_sample_rate: float
    confidence_threshold: float

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
        )


class _State:
    __slots__ = ("config", "lock", "provider", "tracer")

    def __init__(self) -> None:
        self.tracer: trace.Tracer | None = None
        self.provider: trace.TracerProvider | None = None
        self.config: RuntimeConfig = RuntimeConfig.resolve()
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
