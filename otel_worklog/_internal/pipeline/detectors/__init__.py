"""Live detectors: error loops, tool loops, stuck agents, cost anomalies, low-confidence streaks.

``configure(detectors=True)`` (or ``OTEL_WORKLOG_DETECTORS=all``) adds :class:`DetectorProcessor`
to the provider; each finding becomes an ``alert {kind}`` span and calls the ``on_alert`` callbacks.
"""

from __future__ import annotations

import logging

from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

from otel_worklog._internal.pipeline.detectors.alerts import (
    RECOMMENDATIONS,
    Alert,
    AlertCallback,
    clear_alert_callbacks,
    on_alert,
    remove_alert_callback,
)
from otel_worklog._internal.pipeline.detectors.config import KINDS, DetectorConfig, resolve_config
from otel_worklog._internal.pipeline.detectors.fingerprint import fingerprint, normalize_message
from otel_worklog._internal.pipeline.detectors.processor import DetectorProcessor
from otel_worklog._internal.settings import DetectorChoice

logger = logging.getLogger("otel_worklog")

__all__ = [
    "KINDS",
    "RECOMMENDATIONS",
    "Alert",
    "AlertCallback",
    "DetectorConfig",
    "DetectorProcessor",
    "clear_alert_callbacks",
    "create_detector_processor",
    "fingerprint",
    "normalize_message",
    "on_alert",
    "remove_alert_callback",
    "resolve_config",
]


def create_detector_processor(detectors: DetectorChoice, tracer_provider: TracerProvider) -> SpanProcessor | None:
    """The detector span processor for ``configure(detectors=...)``, or None when every detector is off."""
    config = resolve_config(detectors)
    if config is None:
        return None
    logger.debug("otel_worklog: detectors on: %s", ", ".join(sorted(config.enabled)))
    return DetectorProcessor(config, tracer_provider)
