"""The package version, read from the installed metadata."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("otel-worklog")
except metadata.PackageNotFoundError:  # running from a checkout that is not installed
    __version__ = "0.0.0+local"
