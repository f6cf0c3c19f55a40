"""The ``otel-worklog`` command line (re-export)."""

from otel_worklog._internal.cli.app import app, main

__all__ = ["app", "main"]
