"""The one registry of otel_worklog settings.

Each setting has one ``OTEL_WORKLOG_*`` environment variable, a default and a
parser. :func:`resolve` applies the precedence every setting shares:
an explicit argument beats the environment variable, which beats the default.
A value that does not parse logs a warning and falls back to the next source,
so a typo in the environment never stops an app from starting.

Feature modules (the store, the detectors) add their own settings with
:func:`register` at import time, so ``otel-worklog`` and the README list every
setting from this one place.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

logger = logging.getLogger("otel_worklog")

T = TypeVar("T")

_UNSET: Final = object()


class SettingError(ValueError):
    """A value that a setting's parser refuses."""


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One configurable value: its variable, default, parser and a one-line reason."""

    name: str
    env: str
    default: T
    parse: Callable[[Any], T]
    doc: str


REGISTRY: dict[str, Setting[Any]] = {}


def register(setting: Setting[T]) -> Setting[T]:
    """Add ``setting`` to the registry (idempotent for the same object)."""
    existing = REGISTRY.get(setting.name)
    if existing is not None and existing is not setting:
        raise ValueError(f"setting {setting.name!r} is registered twice")
    REGISTRY[setting.name] = setting
    return setting


def resolve(setting: Setting[T], argument: Any = None) -> T:
    """Argument > ``setting.env`` > default; a bad value warns and falls back."""
    if argument is not None:
        try:
            return setting.parse(argument)
        except (SettingError, ValueError, TypeError) as exc:
            logger.warning("otel_worklog: ignoring %s=%r: %s", setting.name, argument, exc)
    raw = os.environ.get(setting.env)
    if raw is not None and raw.strip() != "":
        try:
            return setting.parse(raw.strip())
        except (SettingError, ValueError, TypeError) as exc:
            logger.warning(
                "otel_worklog: ignoring %s=%r (%s); using the default %r", setting.env, raw, exc, setting.default
            )
    return setting.default


# --- Parsers -----------------------------------------------------------------
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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
    if isinstance(value, bool):
        raise SettingError("expected a positive whole number")
    number = int(str(value).strip()) if isinstance(value, str) else int(value)
    if number <= 0:
        raise SettingError("expected a positive whole number")
    return number


def positive_float(value: Any) -> float:
    if isinstance(value, bool):
        raise SettingError("expected a positive number")
    number = float(value)
    if math.isnan(number) or number <= 0:
        raise SettingError("expected a positive number")
    return number


def non_empty_str(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SettingError("expected a non-empty string")
    return value.strip()


# --- Core settings -----------------------------------------------------------
SERVICE_NAME = register(
    Setting(
        "service_name",
        "OTEL_WORKLOG_SERVICE_NAME",
        "otel-worklog",
        non_empty_str,
        "service.name when neither the argument nor OTEL_SERVICE_NAME sets one.",
    )
)
CAPTURE_CONTENT = register(
    Setting(
        "capture_content",
        "OTEL_WORKLOG_CAPTURE_CONTENT",
        True,
        parse_bool,
        "Record tool arguments, results and entry details. On: the work log exists to show the raw work.",
    )
)
REDACT = register(
    Setting(
        "redact",
        "OTEL_WORKLOG_REDACT",
        True,
        parse_bool,
        "Redact secrets (API keys, tokens, passwords, private keys) before they reach a span.",
    )
)
INFO_SAMPLE_RATE = register(
    Setting(
        "info_sample_rate",
        "OTEL_WORKLOG_INFO_SAMPLE_RATE",
        1.0,
        parse_fraction,
        "Share of info and thinking entries kept. Every other level is always kept.",
    )
)
CONFIDENCE_THRESHOLD = register(
    Setting(
        "confidence_threshold",
        "OTEL_WORKLOG_CONFIDENCE_THRESHOLD",
        0.7,
        parse_fraction,
        "A decision below this confidence is also flagged as uncertainty.",
    )
)
MAX_VALUE_LENGTH = register(
    Setting(
        "max_value_length",
        "OTEL_WORKLOG_MAX_VALUE_LENGTH",
        16 * 1024,
        positive_int,
        "Longest recorded value, in characters; longer values are truncated, JSON kept valid.",
    )
)
MAX_QUEUE_SIZE = register(
    Setting(
        "max_queue_size",
        "OTEL_WORKLOG_MAX_QUEUE_SIZE",
        65_536,
        positive_int,
        "Spans buffered per exporter before drops (counted and reported). Bounds memory.",
    )
)
MAX_EXPORT_BATCH_SIZE = register(
    Setting(
        "max_export_batch_size",
        "OTEL_WORKLOG_MAX_EXPORT_BATCH_SIZE",
        2_048,
        positive_int,
        "Spans sent per export call.",
    )
)
SCHEDULE_DELAY_MS = register(
    Setting(
        "schedule_delay_ms",
        "OTEL_WORKLOG_SCHEDULE_DELAY_MS",
        500.0,
        positive_float,
        "Longest wait before a partial batch is exported, in milliseconds.",
    )
)
EXPORT_TIMEOUT_S = register(
    Setting(
        "export_timeout_s",
        "OTEL_WORKLOG_EXPORT_TIMEOUT_S",
        5.0,
        positive_float,
        "Longest one export may take, so a slow or dead backend cannot hold the app.",
    )
)
SHUTDOWN_TIMEOUT_S = register(
    Setting(
        "shutdown_timeout_s",
        "OTEL_WORKLOG_SHUTDOWN_TIMEOUT_S",
        5.0,
        positive_float,
        "Longest shutdown() and force_flush() may take.",
    )
)


def settings_markdown() -> str:
    """The README's settings table, built from the registry."""
    rows = ["| Variable | Default | What it does |", "| --- | --- | --- |"]
    for setting in REGISTRY.values():
        default = setting.default if setting.default not in ("", None, {}) else "(see text)"
        rows.append(f"| `{setting.env}` | `{default}` | {setting.doc} |")
    return "\n".join(rows)
