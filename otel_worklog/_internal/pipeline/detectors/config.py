"""The detectors' resolved thresholds, read from the settings registry.

``detectors=`` (or ``OTEL_WORKLOG_DETECTORS``) says which detectors run and may tune each one;
every threshold it leaves out comes from its own ``OTEL_WORKLOG_*`` setting, then its default.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from otel_worklog._internal import settings as st

__all__ = [
    "COST_ANOMALY",
    "ERROR_LOOP",
    "KINDS",
    "LOW_CONFIDENCE",
    "STUCK_AGENT",
    "TOOL_LOOP",
    "DetectorConfig",
    "resolve_config",
]

logger = logging.getLogger("otel_worklog")

ERROR_LOOP: Final = "error_loop"
TOOL_LOOP: Final = "tool_loop"
STUCK_AGENT: Final = "stuck_agent"
COST_ANOMALY: Final = "cost_anomaly"
LOW_CONFIDENCE: Final = "low_confidence_streak"
KINDS: Final = st.DETECTOR_KINDS


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Resolved thresholds; a kind missing from ``enabled`` does not run. Field names are setting names."""

    enabled: frozenset[str]
    error_loop_threshold: int
    error_loop_window_s: float
    tool_loop_threshold: int
    tool_loop_window_s: float
    stuck_agent_threshold_s: float
    stuck_agent_interval_s: float
    cost_threshold: float
    token_threshold: int
    low_confidence_streak: int
    detector_max_keys: int


def resolve_config(detectors: st.DetectorChoice) -> DetectorConfig | None:
    """``detectors=`` (argument) > ``OTEL_WORKLOG_DETECTORS`` > off; None when nothing runs."""
    chosen = st.resolve(st.DETECTORS, detectors)
    if not chosen:
        return None
    values: dict[str, Any] = {}
    for kind, params in st.DETECTOR_PARAMS.items():
        given = chosen.get(kind, {})
        for param, setting in params.items():
            argument = given.get(param) if isinstance(given, Mapping) else None
            values[setting.name] = st.resolve(setting, argument)
        if isinstance(given, Mapping):
            for unknown in set(given) - set(params):
                logger.warning("otel_worklog: detector %s has no setting %r; known: %s", kind, unknown, sorted(params))
    values[st.MAX_TRACKED_KEYS.name] = st.resolve(st.MAX_TRACKED_KEYS)
    return DetectorConfig(enabled=frozenset(chosen), **values)
