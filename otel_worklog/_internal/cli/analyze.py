"""PLACEHOLDER owned by the analytics work (issue 5): replaced by analyze, recommend and insights."""

from __future__ import annotations

from typing import Any


def register(app: Any) -> None:
    """Add the command(s) of this module to the ``otel-worklog`` app."""
