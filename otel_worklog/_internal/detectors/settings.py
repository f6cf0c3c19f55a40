"""Detector settings: which detectors run, and one ``OTEL_WORKLOG_*`` variable per threshold.

The seeds' analyzer read ``AGENT_ERROR_LOOP_THRESHOLD``, ``AGENT_TOOL_LOOP_THRESHOLD`` and friends
from ``.env``; here each threshold is a registered setting, so argument > environment > default holds
and a bad value warns and falls back like every other otel_worklog setting.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from otel_worklog._internal.config_params import (
    Setting,
    SettingError,
    parse_bool,
    positive_float,
    positive_int,
    register,
    resolve,
)

logger = logging.getLogger("otel_worklog")

ERROR_LOOP: Final = "error_loop"
TOOL_LOOP: Final = "tool_loop"
STUCK_AGENT: Final = "stuck_agent"
COST_ANOMALY: Final = "cost_anomaly"
LOW_CONFIDENCE: Final = "low_confidence_streak"
KINDS: Final = (ERROR_LOOP, TOOL_LOOP, STUCK_AGENT, COST_ANOMALY, LOW_CONFIDENCE)


def parse_detectors(value: Any) -> dict[str, Any]:
    """``OTEL_WORKLOG_DETECTORS`` / ``detectors=``: on/off, ``all``, a comma list, or JSON.

    Returns ``{kind: {param: value}}`` for each enabled kind (an empty dict: all off).
    A list or comma list turns on exactly the kinds named; a mapping tunes the kinds it names
    (``false`` turns one off) and leaves the others on with their defaults.
    """
    if isinstance(value, bool):
        return {kind: {} for kind in KINDS} if value else {}
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("{", "[")):
            return parse_detectors(json.loads(text))
        if text.lower() in ("all", "*"):
            return {kind: {} for kind in KINDS}
        if text.lower() in ("", "none"):
            return {}
        try:
            return parse_detectors(parse_bool(text))
        except SettingError:
            return parse_detectors([part.strip() for part in text.split(",") if part.strip()])
    if isinstance(value, Mapping):
        chosen: dict[str, Any] = {kind: {} for kind in KINDS}
        for key, params in value.items():
            kind = _kind(key)
            if params is False or params is None:
                chosen.pop(kind, None)
            elif params is True:
                chosen[kind] = {}
            elif isinstance(params, Mapping):
                chosen[kind] = dict(params)
            else:
                raise SettingError(f"detector {key!r}: expected true, false or a mapping of thresholds")
        return chosen
    if isinstance(value, (list, tuple, set, frozenset)):
        return {_kind(item): {} for item in value}
    raise SettingError("expected true/false, 'all', a comma list of detectors or JSON")


def _kind(name: Any) -> str:
    key = str(name).strip().lower().replace("-", "_")
    if key == "low_confidence":
        key = LOW_CONFIDENCE
    if key not in KINDS:
        raise SettingError(f"unknown detector {name!r}; known: {', '.join(KINDS)}")
    return key


DETECTORS: Setting[dict[str, Any]] = register(
    Setting(
        "detectors",
        "OTEL_WORKLOG_DETECTORS",
        {},
        parse_detectors,
        "Live detectors: 'all', a comma list (error_loop,tool_loop,...) or JSON with thresholds. Off by default.",
    )
)
ERROR_LOOP_THRESHOLD = register(
    Setting(
        "error_loop_threshold",
        "OTEL_WORKLOG_ERROR_LOOP_THRESHOLD",
        4,
        positive_int,
        "Same error fingerprint this many times in the window, from one bot, is an error loop.",
    )
)
ERROR_LOOP_WINDOW_S = register(
    Setting(
        "error_loop_window_s",
        "OTEL_WORKLOG_ERROR_LOOP_WINDOW_S",
        600.0,
        positive_float,
        "Error-loop window in seconds.",
    )
)
TOOL_LOOP_THRESHOLD = register(
    Setting(
        "tool_loop_threshold",
        "OTEL_WORKLOG_TOOL_LOOP_THRESHOLD",
        10,
        positive_int,
        "Same tool called this many times in the window by one bot is a tool loop.",
    )
)
TOOL_LOOP_WINDOW_S = register(
    Setting(
        "tool_loop_window_s",
        "OTEL_WORKLOG_TOOL_LOOP_WINDOW_S",
        60.0,
        positive_float,
        "Tool-loop window in seconds.",
    )
)
STUCK_AGENT_THRESHOLD_S = register(
    Setting(
        "stuck_agent_threshold_s",
        "OTEL_WORKLOG_STUCK_AGENT_THRESHOLD_S",
        300.0,
        positive_float,
        "A bot span open this long with no new span or entry is a stuck agent.",
    )
)
STUCK_AGENT_INTERVAL_S = register(
    Setting(
        "stuck_agent_interval_s",
        "OTEL_WORKLOG_STUCK_AGENT_INTERVAL_S",
        15.0,
        positive_float,
        "How often the stuck-agent watchdog thread looks, in seconds.",
    )
)
COST_THRESHOLD = register(
    Setting(
        "cost_threshold",
        "OTEL_WORKLOG_COST_THRESHOLD",
        1.0,
        positive_float,
        "Session cost (sum of worklog.cost) above this is a cost anomaly (the seeds' $1).",
    )
)
TOKEN_THRESHOLD = register(
    Setting(
        "token_threshold",
        "OTEL_WORKLOG_TOKEN_THRESHOLD",
        500_000,
        positive_int,
        "Session tokens (gen_ai.usage.input_tokens + output_tokens) above this is a cost anomaly.",
    )
)
LOW_CONFIDENCE_STREAK = register(
    Setting(
        "low_confidence_streak",
        "OTEL_WORKLOG_LOW_CONFIDENCE_STREAK",
        3,
        positive_int,
        "This many low-confidence decisions in a row from one bot raise an alert.",
    )
)
MAX_TRACKED_KEYS = register(
    Setting(
        "detector_max_keys",
        "OTEL_WORKLOG_DETECTOR_MAX_KEYS",
        10_000,
        positive_int,
        "Most bots, tools, fingerprints and sessions the detectors remember at once (bounds memory).",
    )
)

#: Per-kind parameter name -> the setting it overrides.
PARAMS: Final[dict[str, dict[str, Setting[Any]]]] = {
    ERROR_LOOP: {"threshold": ERROR_LOOP_THRESHOLD, "window_s": ERROR_LOOP_WINDOW_S},
    TOOL_LOOP: {"threshold": TOOL_LOOP_THRESHOLD, "window_s": TOOL_LOOP_WINDOW_S},
    STUCK_AGENT: {"threshold_s": STUCK_AGENT_THRESHOLD_S, "interval_s": STUCK_AGENT_INTERVAL_S},
    COST_ANOMALY: {"cost": COST_THRESHOLD, "tokens": TOKEN_THRESHOLD},
    LOW_CONFIDENCE: {"streak": LOW_CONFIDENCE_STREAK},
}


@dataclass(frozen=True)
class DetectorConfig:
    """Resolved thresholds; a kind missing from ``enabled`` does not run."""

    enabled: frozenset[str]
    error_loop_threshold: int = 4
    error_loop_window_s: float = 600.0
    tool_loop_threshold: int = 10
    tool_loop_window_s: float = 60.0
    stuck_agent_threshold_s: float = 300.0
    stuck_agent_interval_s: float = 15.0
    cost_threshold: float = 1.0
    token_threshold: int = 500_000
    low_confidence_streak: int = 3
    max_keys: int = 10_000


def resolve_config(detectors: Any) -> DetectorConfig | None:
    """``detectors=`` (argument) > ``OTEL_WORKLOG_DETECTORS`` > off; None when nothing runs."""
    chosen = resolve(DETECTORS, detectors)
    if not chosen:
        return None
    values: dict[str, Any] = {}
    for kind, params in PARAMS.items():
        given = chosen.get(kind, {})
        for param, setting in params.items():
            argument = given.get(param) if isinstance(given, Mapping) else None
            values[setting.name] = resolve(setting, argument)
        if isinstance(given, Mapping):
            for unknown in set(given) - set(params):
                logger.warning("otel_worklog: detector %s has no setting %r; known: %s", kind, unknown, sorted(params))
    return DetectorConfig(
        enabled=frozenset(chosen),
        error_loop_threshold=values["error_loop_threshold"],
        error_loop_window_s=values["error_loop_window_s"],
        tool_loop_threshold=values["tool_loop_threshold"],
        tool_loop_window_s=values["tool_loop_window_s"],
        stuck_agent_threshold_s=values["stuck_agent_threshold_s"],
        stuck_agent_interval_s=values["stuck_agent_interval_s"],
        cost_threshold=values["cost_threshold"],
        token_threshold=values["token_threshold"],
        low_confidence_streak=values["low_confidence_streak"],
        max_keys=resolve(MAX_TRACKED_KEYS),
    )
