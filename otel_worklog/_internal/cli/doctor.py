"""PLACEHOLDER owned by the stack work (issue 4): replaced by the real `doctor` command."""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    """Add the command(s) of this module to the ``otel-worklog`` app."""
