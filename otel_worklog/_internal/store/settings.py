"""Where the embedded store lives and how long it keeps traces.

The store is on by default so a user with no server still sees every work log;
``store=False`` or ``OTEL_WORKLOG_STORE=none`` switches it off. The default path
follows the XDG base-directory convention so the CLI finds it with no flags:
``$XDG_DATA_HOME/otel-worklog/worklog.db``, else ``~/.local/share/otel-worklog/worklog.db``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from otel_worklog._internal.config_params import Setting, SettingError, register, resolve

__all__ = ["RETENTION_DAYS", "STORE", "default_store_path", "resolve_retention_days", "resolve_store_path"]

_OFF = frozenset({"none", "off", "false", "0", "no", "disabled"})


def _parse_store(value: Any) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip():
        raise SettingError("expected a file path or 'none'")
    return value.strip()


def _parse_days(value: Any) -> int:
    if isinstance(value, bool):
        raise SettingError("expected a whole number of days (0 keeps everything)")
    number = int(str(value).strip()) if isinstance(value, str) else int(value)
    if number < 0:
        raise SettingError("expected a whole number of days (0 keeps everything)")
    return number


STORE = register(
    Setting(
        "store",
        "OTEL_WORKLOG_STORE",
        "",
        _parse_store,
        "Path of the embedded SQLite trace store, or 'none' to switch it off. "
        "Default: $XDG_DATA_HOME/otel-worklog/worklog.db (~/.local/share/otel-worklog/worklog.db).",
    )
)
RETENTION_DAYS = register(
    Setting(
        "retention_days",
        "OTEL_WORKLOG_RETENTION_DAYS",
        30,
        _parse_days,
        "Days the embedded store keeps a session; older ones are pruned as new spans arrive. 0 keeps everything.",
    )
)


def default_store_path() -> Path:
    """The documented default location (XDG data directory)."""
    base = os.environ.get("XDG_DATA_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".local" / "share"
    return root / "otel-worklog" / "worklog.db"


def resolve_store_path(store: object = ...) -> Path | None:
    """The store path for ``store=`` (``...`` = not given), then the variable, then the default; None = off."""
    if store is not ...:
        if store is None or store is False:
            return None
        if isinstance(store, str | os.PathLike):
            text = os.fspath(store).strip()
            if text.lower() in _OFF:
                return None
            if text:
                return Path(text).expanduser()
        # Anything else (True, a number) means "the usual place".
    value = resolve(STORE)
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    return default_store_path()


def resolve_retention_days(days: object = None) -> int:
    """Retention in days (0 = keep everything): argument > OTEL_WORKLOG_RETENTION_DAYS > 30."""
    return resolve(RETENTION_DAYS, days)
