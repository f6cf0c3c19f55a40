"""Internal faults never reach user code.

Every entry point runs its own bookkeeping inside :func:`internal_errors`; a
fault there logs one warning and the user's code goes on. The user's own
exceptions are never caught here: wrappers call user code outside these blocks.

Our own test suite sets :data:`RAISE_INTERNAL_ERRORS` so that a fault fails the
test that caused it instead of being swallowed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

logger = logging.getLogger("otel_worklog")

#: Re-raise internal faults (set by otel_worklog's own tests, never for users).
RAISE_INTERNAL_ERRORS = False


def log_internal_error() -> None:
    """Report the exception being handled as an otel_worklog fault."""
    if RAISE_INTERNAL_ERRORS:
        raise  # noqa: PLE0704 - re-raises the exception being handled
    logger.warning("otel_worklog internal error; your code is still running fine", exc_info=True)


@contextlib.contextmanager
def internal_errors() -> Iterator[None]:
    """Log (never raise) any exception from otel_worklog's own bookkeeping."""
    try:
        yield
    except Exception:
        log_internal_error()
