"""Every otel_worklog setting, declared once, in this one static registry.

Each :class:`Setting` has its ``OTEL_WORKLOG_*`` variable, its default, its parser and a one-line
reason. Where OpenTelemetry has a standard variable for the same thing (``OTEL_BSP_*``), the setting
falls back to it. :func:`resolve` applies the precedence every setting shares: an explicit argument
beats the ``OTEL_WORKLOG_*`` variable, which beats the standard variable, which beats the default.
A value that does not parse warns once and falls back to the next source, so a typo never stops an
app from starting; :func:`check_environment` names an ``OTEL_WORKLOG_*`` variable that is no setting
at all, with the nearest known one.

The README's settings table is generated from :data:`SETTINGS` (:func:`settings_markdown`), and a
test keeps the two equal.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import Any, Final, Generic, TypeAlias, TypeVar

__all__ = [
    "CAPTURE_CONTENT",
    "COLLECTOR_HEALTH_URL",
    "CONFIDENCE_THRESHOLD",
    "COORDINATION_OVERHEAD_PCT",
    "COST_THRESHOLD",
    "DEBUG",
    "DETECTORS",
    "DETECTOR_KINDS",
    "DETECTOR_PARAMS",
    "DOCTOR_TIMEOUT_S",
    "ERROR_LOOP_THRESHOLD",
    "ERROR_LOOP_WINDOW_S",
    "EXPORT_TIMEOUT_S",
    "INFO_SAMPLE_RATE",
    "LOW_CONFIDENCE_STREAK",
    "MAX_EXPORT_BATCH_SIZE",
    "MAX_QUEUE_SIZE",
    "MAX_TRACKED_KEYS",
    "MAX_VALUE_LENGTH",
    "PROMETHEUS_URL",
    "REDACT",
    "REGISTRY",
    "RETENTION_DAYS",
    "SCHEDULE_DELAY_MS",
    "SERVICE_NAME",
    "SETTINGS",
    "SHUTDOWN_TIMEOUT_S",
    "STORE",
    "STUCK_AGENT_INTERVAL_S",
    "STUCK_AGENT_THRESHOLD_S",
    "TEMPO_URL",
    "TOKEN_THRESHOLD",
    "TOOL_LOOP_THRESHOLD",
    "TOOL_LOOP_WINDOW_S",
    "Setting",
    "SettingError",
    "check_environment",
    "parse_detectors",
    "resolve",
    "settings_markdown",
]

logger = logging.getLogger("otel_worklog")

T = TypeVar("T")

PREFIX: Final = "OTEL_WORKLOG_"


class SettingError(ValueError):
    """A value that a setting's parser refuses."""


@dataclass(frozen=True, slots=True)
class Setting(Generic[T]):
    """One configurable value: its variable, default, parser and a one-line reason.

    ``standard_env`` names the OpenTelemetry variable consulted when ``env`` is unset;
    ``standard_parse`` reads it when its unit differs (milliseconds where we keep seconds).
    """

    name: str
    env: str
    default: T
    parse: Callable[[Any], T]
    doc: str
    section: str
    standard_env: str | None = None
    standard_parse: Callable[[Any], T] | None = None


# --- Parsers -----------------------------------------------------------------
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingError("expected true or false")


def parse_fraction(value: Any) -> float:
    """A number from 0 to 1 inclusive (a rate or a confidence)."""
    if isinstance(value, bool):
        raise SettingError("expected a number from 0 to 1")
    number = float(value)
    if math.isnan(number) or not 0.0 <= number <= 1.0:
        raise SettingError("expected a number from 0 to 1")
    return number


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise SettingError("expected a positive whole number")
    number = int(str(value).strip()) if isinstance(value, str) else int(value)
    if number <= 0:
        raise SettingError("expected a positive whole number")
    return number


def positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise SettingError("expected a positive number")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise SettingError("expected a positive number")
    return number


def millis_as_seconds(value: Any) -> float:
    """A standard ``OTEL_BSP_*`` duration (milliseconds) as seconds."""
    return positive_float(value) / 1000


def non_empty_str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingError("expected a non-empty string")
    return value.strip()


def _store_path(value: Any) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise SettingError("expected a file path or 'none'")
    return value.strip()


def _days(value: Any) -> int:
    if isinstance(value, bool):
        raise SettingError("expected a whole number of days (0 keeps everything)")
    number = int(str(value).strip()) if isinstance(value, str) else int(value)
    if number < 0:
        raise SettingError("expected a whole number of days (0 keeps everything)")
    return number


#: What ``configure(store=...)`` takes: a path; ``False``, ``None`` or ``"none"`` for no store; ``True``
#: for the usual place; ``...`` (not given) for ``OTEL_WORKLOG_STORE`` or the default path.
StoreChoice: TypeAlias = "str | os.PathLike[str] | bool | EllipsisType | None"
#: What ``configure(detectors=...)`` takes: all on or off, the kinds to run by name (a list, or text
#: as ``OTEL_WORKLOG_DETECTORS`` holds it), or per kind ``False`` or its thresholds; None: the variable.
DetectorChoice: TypeAlias = "bool | str | Sequence[str] | Mapping[str, bool | Mapping[str, float] | None] | None"

#: The live detectors, by the name ``detectors=`` and ``OTEL_WORKLOG_DETECTORS`` use.
DETECTOR_KINDS: Final = ("error_loop", "tool_loop", "stuck_agent", "cost_anomaly", "low_confidence_streak")


def _detector_kind(name: Any) -> str:
    key = str(name).strip().lower().replace("-", "_")
    if key == "low_confidence":
        key = "low_confidence_streak"
    if key not in DETECTOR_KINDS:
        raise SettingError(f"unknown detector {name!r}; known: {', '.join(DETECTOR_KINDS)}")
    return key


def parse_detectors(value: Any) -> dict[str, Any]:
    """``OTEL_WORKLOG_DETECTORS`` / ``detectors=``: on/off, ``all``, a comma list, or JSON.

    Returns ``{kind: {param: value}}`` for each enabled kind (an empty dict: all off). A list turns on
    exactly the kinds named; a mapping tunes the kinds it names (``false`` turns one off) and leaves
    the others on with their defaults.
    """
    if isinstance(value, bool):
        return {kind: {} for kind in DETECTOR_KINDS} if value else {}
    if isinstance(value, str):
        return _detectors_from_text(value.strip())
    if isinstance(value, Mapping):
        return _detectors_from_mapping(value)
    if isinstance(value, list | tuple | set | frozenset):
        return {_detector_kind(item): {} for item in value}
    raise SettingError("expected true/false, 'all', a comma list of detectors or JSON")


def _detectors_from_text(text: str) -> dict[str, Any]:
    if text.startswith(("{", "[")):
        return parse_detectors(json.loads(text))
    if text.lower() in ("all", "*"):
        return {kind: {} for kind in DETECTOR_KINDS}
    if text.lower() in ("", "none"):
        return {}
    try:
        return parse_detectors(parse_bool(text))
    except SettingError:
        return parse_detectors([part.strip() for part in text.split(",") if part.strip()])


def _detectors_from_mapping(value: Mapping[Any, Any]) -> dict[str, Any]:
    chosen: dict[str, Any] = {kind: {} for kind in DETECTOR_KINDS}
    for key, params in value.items():
        kind = _detector_kind(key)
        if params is False or params is None:
            chosen.pop(kind, None)
        elif params is True:
            chosen[kind] = {}
        elif isinstance(params, Mapping):
            chosen[kind] = dict(params)
        else:
            raise SettingError(f"detector {key!r}: expected true, false or a mapping of thresholds")
    return chosen


# --- The settings ------------------------------------------------------------
def _setting(
    name: str,
    default: T,
    parse: Callable[[Any], T],
    doc: str,
    section: str,
    *,
    standard_env: str | None = None,
    standard_parse: Callable[[Any], T] | None = None,
) -> Setting[T]:
    return Setting(name, PREFIX + name.upper(), default, parse, doc, section, standard_env, standard_parse)


_CORE: Final = "Recording"
_EXPORT: Final = "Export"
_STORE: Final = "Local store"
_DETECT: Final = "Live detectors"
_READ: Final = "Analytics and the CLI"

SERVICE_NAME: Final = _setting(
    "service_name",
    "otel-worklog",
    non_empty_str,
    "service.name when neither the argument nor OTEL_SERVICE_NAME sets one.",
    _CORE,
)
CAPTURE_CONTENT: Final = _setting(
    "capture_content",
    True,
    parse_bool,
    "Record tool arguments, results and entry details. On: the work log exists to show the raw work.",
    _CORE,
)
REDACT: Final = _setting(
    "redact",
    True,
    parse_bool,
    "Redact secrets (API keys, tokens, passwords, private keys) before they reach a span.",
    _CORE,
)
INFO_SAMPLE_RATE: Final = _setting(
    "info_sample_rate",
    1.0,
    parse_fraction,
    "Share of info and thinking entries kept. Every other level is always kept.",
    _CORE,
)
CONFIDENCE_THRESHOLD: Final = _setting(
    "confidence_threshold",
    0.7,
    parse_fraction,
    "A decision below this confidence is also flagged as uncertainty, and views list it as low confidence.",
    _CORE,
)
MAX_VALUE_LENGTH: Final = _setting(
    "max_value_length",
    16 * 1024,
    positive_int,
    "Longest recorded value, in characters; longer values are truncated, JSON kept valid.",
    _CORE,
)
MAX_QUEUE_SIZE: Final = _setting(
    "max_queue_size",
    65_536,
    positive_int,
    "Spans buffered per exporter before drops (counted and reported). Bounds memory.",
    _EXPORT,
    standard_env="OTEL_BSP_MAX_QUEUE_SIZE",
)
MAX_EXPORT_BATCH_SIZE: Final = _setting(
    "max_export_batch_size",
    2_048,
    positive_int,
    "Spans sent per export call.",
    _EXPORT,
    standard_env="OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
)
SCHEDULE_DELAY_MS: Final = _setting(
    "schedule_delay_ms",
    500.0,
    positive_float,
    "Longest wait before a partial batch is exported, in milliseconds.",
    _EXPORT,
    standard_env="OTEL_BSP_SCHEDULE_DELAY",
)
EXPORT_TIMEOUT_S: Final = _setting(
    "export_timeout_s",
    5.0,
    positive_float,
    "Longest one export may take, in seconds, so a slow or dead backend cannot hold the app.",
    _EXPORT,
    standard_env="OTEL_BSP_EXPORT_TIMEOUT",
    standard_parse=millis_as_seconds,
)
SHUTDOWN_TIMEOUT_S: Final = _setting(
    "shutdown_timeout_s",
    5.0,
    positive_float,
    "Longest shutdown() and force_flush() may take, in seconds.",
    _EXPORT,
)
STORE: Final = _setting(
    "store",
    "",
    _store_path,
    "Path of the embedded SQLite trace store, or 'none' to switch it off. "
    "Default: $XDG_DATA_HOME/otel-worklog/worklog.db (~/.local/share/otel-worklog/worklog.db).",
    _STORE,
)
RETENTION_DAYS: Final = _setting(
    "retention_days",
    30,
    _days,
    "Days the embedded store keeps a session; older ones are pruned as new spans arrive. 0 keeps everything.",
    _STORE,
)
DETECTORS: Final[Setting[dict[str, Any]]] = _setting(
    "detectors",
    {},
    parse_detectors,
    "Live detectors: 'all', a comma list (error_loop,tool_loop,...) or JSON with thresholds. Off by default.",
    _DETECT,
)
ERROR_LOOP_THRESHOLD: Final = _setting(
    "error_loop_threshold",
    4,
    positive_int,
    "Same error fingerprint this many times in the window, from one bot, is an error loop.",
    _DETECT,
)
ERROR_LOOP_WINDOW_S: Final = _setting(
    "error_loop_window_s", 600.0, positive_float, "Error-loop window in seconds.", _DETECT
)
TOOL_LOOP_THRESHOLD: Final = _setting(
    "tool_loop_threshold",
    10,
    positive_int,
    "Same tool called this many times in the window by one bot is a tool loop.",
    _DETECT,
)
TOOL_LOOP_WINDOW_S: Final = _setting(
    "tool_loop_window_s", 60.0, positive_float, "Tool-loop window in seconds.", _DETECT
)
STUCK_AGENT_THRESHOLD_S: Final = _setting(
    "stuck_agent_threshold_s",
    300.0,
    positive_float,
    "A bot span open this long with no new span or entry is a stuck agent.",
    _DETECT,
)
STUCK_AGENT_INTERVAL_S: Final = _setting(
    "stuck_agent_interval_s",
    15.0,
    positive_float,
    "How often the stuck-agent watchdog thread looks, in seconds.",
    _DETECT,
)
COST_THRESHOLD: Final = _setting(
    "cost_threshold",
    1.0,
    positive_float,
    "Session cost (sum of worklog.cost) above this is a cost anomaly.",
    _DETECT,
)
TOKEN_THRESHOLD: Final = _setting(
    "token_threshold",
    500_000,
    positive_int,
    "Session tokens (gen_ai.usage.input_tokens + output_tokens) above this is a cost anomaly.",
    _DETECT,
)
LOW_CONFIDENCE_STREAK: Final = _setting(
    "low_confidence_streak",
    3,
    positive_int,
    "This many low-confidence decisions in a row from one bot raise an alert.",
    _DETECT,
)
MAX_TRACKED_KEYS: Final = _setting(
    "detector_max_keys",
    10_000,
    positive_int,
    "Most bots, tools, fingerprints and sessions the detectors remember at once (bounds memory).",
    _DETECT,
)
COORDINATION_OVERHEAD_PCT: Final = _setting(
    "coordination_overhead_pct",
    30.0,
    positive_float,
    "Coordination overhead (% of coordination + tool time) above which `analyze overhead` flags a workflow.",
    _READ,
)
COLLECTOR_HEALTH_URL: Final = _setting(
    "collector_health_url",
    "http://localhost:13133/",
    non_empty_str,
    "The collector's health_check endpoint, checked by `otel-worklog doctor`.",
    _READ,
)
TEMPO_URL: Final = _setting(
    "tempo_url",
    "http://localhost:3200",
    non_empty_str,
    "Grafana Tempo's HTTP API, queried by `otel-worklog doctor`.",
    _READ,
)
PROMETHEUS_URL: Final = _setting(
    "prometheus_url",
    "http://localhost:9090",
    non_empty_str,
    "Prometheus's HTTP API, queried by `otel-worklog doctor`.",
    _READ,
)
DOCTOR_TIMEOUT_S: Final = _setting(
    "doctor_timeout_s",
    180.0,
    positive_float,
    "Longest `otel-worklog doctor` waits for the trace, series and alert (tail sampling alone waits 30s).",
    _READ,
)
DEBUG: Final = _setting(
    "debug",
    False,
    parse_bool,
    "The CLI prints the traceback of an internal error instead of one line.",
    _READ,
)

#: Every setting, in the order the README lists them.
SETTINGS: Final[tuple[Setting[Any], ...]] = (
    SERVICE_NAME,
    CAPTURE_CONTENT,
    REDACT,
    INFO_SAMPLE_RATE,
    CONFIDENCE_THRESHOLD,
    MAX_VALUE_LENGTH,
    MAX_QUEUE_SIZE,
    MAX_EXPORT_BATCH_SIZE,
    SCHEDULE_DELAY_MS,
    EXPORT_TIMEOUT_S,
    SHUTDOWN_TIMEOUT_S,
    STORE,
    RETENTION_DAYS,
    DETECTORS,
    ERROR_LOOP_THRESHOLD,
    ERROR_LOOP_WINDOW_S,
    TOOL_LOOP_THRESHOLD,
    TOOL_LOOP_WINDOW_S,
    STUCK_AGENT_THRESHOLD_S,
    STUCK_AGENT_INTERVAL_S,
    COST_THRESHOLD,
    TOKEN_THRESHOLD,
    LOW_CONFIDENCE_STREAK,
    MAX_TRACKED_KEYS,
    COORDINATION_OVERHEAD_PCT,
    COLLECTOR_HEALTH_URL,
    TEMPO_URL,
    PROMETHEUS_URL,
    DOCTOR_TIMEOUT_S,
    DEBUG,
)
REGISTRY: Final[Mapping[str, Setting[Any]]] = {setting.name: setting for setting in SETTINGS}

#: Per-detector parameter name (as ``detectors={"tool_loop": {"threshold": 3}}`` spells it) -> setting.
DETECTOR_PARAMS: Final[Mapping[str, Mapping[str, Setting[Any]]]] = {
    "error_loop": {"threshold": ERROR_LOOP_THRESHOLD, "window_s": ERROR_LOOP_WINDOW_S},
    "tool_loop": {"threshold": TOOL_LOOP_THRESHOLD, "window_s": TOOL_LOOP_WINDOW_S},
    "stuck_agent": {"threshold_s": STUCK_AGENT_THRESHOLD_S, "interval_s": STUCK_AGENT_INTERVAL_S},
    "cost_anomaly": {"cost": COST_THRESHOLD, "tokens": TOKEN_THRESHOLD},
    "low_confidence_streak": {"streak": LOW_CONFIDENCE_STREAK},
}

#: Variables that look like settings but belong to something else (never warned about).
_NOT_SETTINGS: Final[frozenset[str]] = frozenset()


# --- Resolution --------------------------------------------------------------
_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def _warn_once(key: tuple[str, str], message: str, *args: object) -> None:
    """Log a settings warning the first time only: settings are resolved again on every configure()."""
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    logger.warning(message, *args)


def _parse(setting: Setting[Any], source: str, raw: Any, parse: Callable[[Any], Any]) -> tuple[bool, Any]:
    try:
        return True, parse(raw.strip() if isinstance(raw, str) else raw)
    except (SettingError, ValueError, TypeError) as exc:
        _warn_once(
            (source, repr(raw)),
            "otel_worklog: ignoring %s=%r (%s); using the next source (default %r)",
            source,
            raw,
            exc,
            setting.default,
        )
        return False, None


def resolve(setting: Setting[T], argument: Any = None) -> T:
    """Argument > ``OTEL_WORKLOG_*`` > the standard ``OTEL_*`` variable > default; a bad value warns once."""
    if argument is not None:
        ok, value = _parse(setting, setting.name, argument, setting.parse)
        if ok:
            return value  # type: ignore[no-any-return]  # the setting's own parser made it
    for env, parse in ((setting.env, setting.parse), (setting.standard_env, setting.standard_parse or setting.parse)):
        raw = os.environ.get(env) if env else None
        if env and raw is not None and raw.strip() != "":
            ok, value = _parse(setting, env, raw, parse)
            if ok:
                return value  # type: ignore[no-any-return]  # the setting's own parser made it
    return setting.default


def check_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """Warn (once each) about ``OTEL_WORKLOG_*`` variables that are no setting; returns their names."""
    env = os.environ if environ is None else environ
    known = {setting.env for setting in SETTINGS} | _NOT_SETTINGS
    unknown = sorted(name for name in env if name.startswith(PREFIX) and name not in known)
    if unknown:
        import difflib  # only to suggest a name for a typo: most processes never need it

    for name in unknown:
        nearest = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {nearest[0]}?" if nearest else f"; see `{PREFIX}*` in the README's settings table"
        _warn_once(("unknown", name), "otel_worklog: %s is not a setting and is ignored%s", name, hint)
    return unknown


def settings_markdown() -> str:
    """The README's settings tables, one per section, built from :data:`SETTINGS`."""
    lines: list[str] = []
    section = None
    for setting in SETTINGS:
        if setting.section != section:
            section = setting.section
            if lines:
                lines.append("")
            lines += [f"**{section}**", "", "| Variable | Default | What it does |", "| --- | --- | --- |"]
        default = "(see text)" if setting.default in ("", None, {}) else f"`{setting.default}`"
        doc = setting.doc
        if setting.standard_env:
            doc += f" Falls back to `{setting.standard_env}`."
        lines.append(f"| `{setting.env}` | {default} | {doc} |")
    return "\n".join(lines)
