"""One way to read traces, two sources: the embedded store and Grafana Tempo.

The CLI, the HTML view and the response helpers call :func:`open_reader` and
use only the :class:`~otel_worklog._internal.query.records.TraceReader` protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.query.records import TraceReader
from otel_worklog._internal.query.store_reader import StoreReader
from otel_worklog._internal.store.paths import resolve_store_path

if TYPE_CHECKING:
    from otel_worklog._internal.query.tempo import TempoReader, traceql_string

__all__ = ["StoreReader", "TempoReader", "open_reader", "traceql_string"]


def __getattr__(name: str) -> Any:
    """The Tempo reader (and urllib with it) is imported only when asked for: most reads are local."""
    if name in ("TempoReader", "traceql_string"):
        from otel_worklog._internal.query import tempo

        return getattr(tempo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_reader(*, store: str | None = None, tempo: str | None = None) -> TraceReader:
    """Tempo when ``tempo`` is a URL, else the store at ``store`` (default: where ``configure()`` writes)."""
    if tempo:
        from otel_worklog._internal.query.tempo import TempoReader

        return TempoReader(tempo)
    path = resolve_store_path(store if store else ...)
    if path is None:
        raise ReaderError(
            "the embedded store is switched off (OTEL_WORKLOG_STORE=none); pass --store PATH or --tempo URL"
        )
    return StoreReader(path)
