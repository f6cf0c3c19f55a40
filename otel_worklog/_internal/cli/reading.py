"""What the read commands share: the reader of ``--store``/``--tempo``, the session to show, bot names."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from otel_worklog._internal.exceptions import TraceNotFound
from otel_worklog._internal.query.readers import open_reader
from otel_worklog._internal.query.records import TraceReader

__all__ = ["bot_name", "pick_trace", "reading"]


def bot_name(name: str | None) -> str | None:
    """A bot filter as given (``@researcher`` or ``researcher``) without its ``@``."""
    return name.lstrip("@") if name else None


@contextlib.contextmanager
def reading(store: str | None, tempo: str | None) -> Iterator[TraceReader]:
    """The reader of ``--store``/``--tempo``, closed afterwards."""
    reader = open_reader(store=store, tempo=tempo)
    try:
        yield reader
    finally:
        reader.close()


def pick_trace(reader: TraceReader, trace_id: str | None, workspace: str | None, bot: str | None) -> str:
    """``trace_id`` when given, else the latest session matching the filters."""
    if trace_id:
        return trace_id
    found = reader.latest_trace_id(workspace=workspace, bot=bot)
    if found is None:
        where = " ".join(p for p in (f"in {workspace}" if workspace else "", f"with @{bot}" if bot else "") if p)
        raise TraceNotFound(f"no work-log sessions {where}".strip() + " (run `otel-worklog demo` to make some)")
    return found
