"""The embedded SQLite trace store: the default destination when no server is configured.

``configure()`` calls :func:`create_store_exporter` and puts the exporter behind
its batch processor; the CLI opens the same path through
:func:`resolve_store_path`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from otel_worklog._internal.store.paths import (
    default_store_path,
    resolve_retention_days,
    resolve_store_path,
)
from otel_worklog._internal.store.retention import PruneResult, prune
from otel_worklog._internal.store.schema import SCHEMA_VERSION, connect

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "SCHEMA_VERSION",
    "PruneResult",
    "connect",
    "create_store_exporter",
    "default_store_path",
    "prune",
    "resolve_retention_days",
    "resolve_store_path",
]

logger = logging.getLogger("otel_worklog")


def create_store_exporter(store: object = ...) -> SpanExporter | None:
    """The store exporter for ``store=`` (see :func:`resolve_store_path`), or None when the store is off."""
    path = resolve_store_path(store)
    if path is None:
        return None
    # Imported here: the exporter needs the OTel SDK, which the read-only CLI never loads.
    from otel_worklog._internal.store.exporter import StoreSpanExporter

    return StoreSpanExporter(path)
