"""What the commands share: one-line errors, the exit codes, JSON output and opening a reader."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import sys
from collections.abc import Iterator
from typing import Any

from otel_worklog._internal.exceptions import ReaderError, TraceNotFound
from otel_worklog._internal.query.readers import open_reader
from otel_worklog._internal.query.records import TraceReader
from otel_worklog._internal.settings import DEBUG, resolve

__all__ = [
    "EXIT_INTERNAL_ERROR",
    "EXIT_USAGE_ERROR",
    "EXIT_USER_ERROR",
    "bot_name",
    "emit_json",
    "fail",
    "guard",
    "pick_trace",
    "reading",
    "to_json",
]

EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2
EXIT_USAGE_ERROR = 2  # as argparse exits on bad options


def fail(message: str, code: int = EXIT_USER_ERROR) -> SystemExit:
    """Print ``message`` as the one error line and return the exit to raise."""
    one_line = " ".join(str(message).split())
    sys.stderr.write(f"otel-worklog: error: {one_line}\n")
    sys.stderr.flush()
    return SystemExit(code)


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Turn every expected failure into one line and a non-zero exit."""
    try:
        yield
    except (SystemExit, KeyboardInterrupt):
        raise
    except ReaderError as exc:
        raise fail(str(exc)) from None
    except sqlite3.Error as exc:
        raise fail(f"the store could not be read: {exc}") from None
    except OSError as exc:
        raise fail(f"{exc.strerror or exc}: {exc.filename or ''}".strip().rstrip(":")) from None
    except Exception as exc:
        if resolve(DEBUG):
            raise
        raise fail(
            f"internal error {type(exc).__name__}: {exc} (set OTEL_WORKLOG_DEBUG=1 to see the traceback)",
            EXIT_INTERNAL_ERROR,
        ) from None


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write itself: dataclasses as objects, sets sorted, anything else as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def to_json(data: Any) -> str:
    """``data`` as indented JSON text, ending with a newline."""
    return json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable) + "\n"


def emit_json(data: Any) -> None:
    """``data`` as JSON on stdout."""
    sys.stdout.write(to_json(data))


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
