"""What every command shares: one-line errors and the exit codes."""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Iterator

from otel_worklog._internal.exceptions import ReaderError
from otel_worklog._internal.settings import DEBUG, resolve

__all__ = ["EXIT_INTERNAL_ERROR", "EXIT_USER_ERROR", "MODES", "fail", "guard"]

#: The views of ``explain --mode``.
MODES = ("summary", "detailed", "debug", "coordination", "conversations")

EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2


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
