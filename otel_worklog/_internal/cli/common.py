"""What every command shares: one-line errors, the exit codes and JSON output."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import sys
from collections.abc import Iterator
from typing import Any

from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.render.controls import escape_in_json, strip_controls
from otel_worklog._internal.settings import DEBUG, resolve

__all__ = [
    "EXIT_INTERNAL_ERROR",
    "EXIT_USAGE_ERROR",
    "EXIT_USER_ERROR",
    "emit_json",
    "fail",
    "guard",
    "to_json",
]

EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2
EXIT_USAGE_ERROR = 2  # as argparse exits on bad options


def fail(message: str, code: int = EXIT_USER_ERROR) -> SystemExit:
    """Print ``message`` as the one error line and return the exit to raise.

    The message may quote trace text or a server's answer: what a terminal would act on is dropped.
    """
    one_line = " ".join(strip_controls(str(message)).split())
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
    """``data`` as indented JSON text, ending with a newline; controls and bidi marks in it escaped."""
    return escape_in_json(json.dumps(data, indent=2, ensure_ascii=False, default=_jsonable)) + "\n"


def emit_json(data: Any) -> None:
    """``data`` as JSON on stdout."""
    sys.stdout.write(to_json(data))
