"""Where the embedded store lives and how long it keeps traces.

The store is on by default so a user with no server still sees every work log;
``store=False`` or ``OTEL_WORKLOG_STORE=none`` switches it off. The default path
follows the XDG base-directory convention so the CLI finds it with no flags:
``$XDG_DATA_HOME/otel-worklog/worklog.db``, else ``~/.local/share/otel-worklog/worklog.db``.
"""

from __future__ import annotations

import os
from pathlib import Path

from otel_worklog._internal.settings import RETENTION_DAYS, STORE, resolve

__all__ = ["default_store_path", "resolve_retention_days", "resolve_store_path"]

_OFF = frozenset({"none", "off", "false", "0", "no", "disabled"})


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
