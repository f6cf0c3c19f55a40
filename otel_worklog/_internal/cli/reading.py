"""What the read commands share: the reader of ``--store``/``--tempo``, the session to show, bot and
workspace names as a user types them, and how times and trace ids are shown."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator

from otel_worklog._internal.exceptions import TraceNotFound
from otel_worklog._internal.query.readers import open_reader
from otel_worklog._internal.query.records import TraceReader
from otel_worklog._internal.render.units import Clock, Display

__all__ = ["bot_name", "display", "pick_trace", "reading", "workspace_name"]

#: How many known workspaces an "unknown workspace" error names.
_NEAREST = 3


def bot_name(name: str | None) -> str | None:
    """A bot filter as given (``@researcher`` or ``researcher``) without its ``@``."""
    return name.lstrip("@") if name else None


def workspace_name(reader: TraceReader, name: str | None) -> str | None:
    """The workspace ``name`` means: ``general`` is ``#general`` when that is the one there is.

    A workspace no session has is a one-line error naming the nearest known workspaces, so a typo is
    told apart from "nothing happened there". A reader that cannot list workspaces takes the name as given.
    """
    if name is None:
        return None
    known = reader.workspaces()
    if not known or name in known:
        return name
    for candidate in (f"#{name}", name.lstrip("#")):
        if candidate in known:
            return candidate
    bare = name.lstrip("#").lower()
    containing = [w for w in known if bare and bare in w.lower()]
    import difflib  # only to suggest a workspace for one that matched none

    close = difflib.get_close_matches(f"#{bare}", known, n=_NEAREST, cutoff=0.4) + difflib.get_close_matches(
        bare, known, n=_NEAREST, cutoff=0.4
    )
    nearest = list(dict.fromkeys([*containing, *close]))[:_NEAREST]
    if nearest:
        raise TraceNotFound(f"no sessions in workspace {name!r}; nearest known: {', '.join(nearest)}")
    more = f" and {len(known) - _NEAREST} more" if len(known) > _NEAREST else ""
    raise TraceNotFound(f"no sessions in workspace {name!r}; known workspaces: {', '.join(known[:_NEAREST])}{more}")


@contextlib.contextmanager
def reading(store: str | None, tempo: str | None) -> Iterator[TraceReader]:
    """The reader of ``--store``/``--tempo``, closed afterwards."""
    reader = open_reader(store=store, tempo=tempo)
    try:
        yield reader
    finally:
        reader.close()


def pick_trace(reader: TraceReader, trace_id: str | None, workspace: str | None, bot: str | None) -> str:
    """``trace_id`` when given, else the latest session matching the filters (``workspace`` as a user types it)."""
    if trace_id:
        return trace_id
    workspace = workspace_name(reader, workspace)
    found = reader.latest_trace_id(workspace=workspace, bot=bot)
    if found is None:
        if workspace is None and bot is None:
            raise TraceNotFound("no work-log sessions yet (run `otel-worklog demo` to make some)")
        where = " ".join(p for p in (f"in {workspace}" if workspace else "", f"with @{bot}" if bot else "") if p)
        raise TraceNotFound(f"no work-log sessions {where}")
    return found


def display(reader: TraceReader, trace_ids: Iterable[str], *, utc: bool) -> Display:
    """How to show times (local, or UTC) and these trace ids (each as its shortest unique prefix)."""
    return Display(Clock(utc=utc), reader.short_trace_ids(trace_ids))
