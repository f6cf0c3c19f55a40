"""Waiting for work of ours no longer than a deadline, whatever that work waits on."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

__all__ = ["run_until"]

logger = logging.getLogger("otel_worklog")


def run_until(work: Callable[[], object], deadline: float, name: str) -> bool:
    """Run ``work`` on a thread of its own and wait for it until ``deadline`` (``time.monotonic()``).

    For the last steps of a shutdown that may block on what we do not control (an exporter stuck in
    a request, a user's callback that sleeps): past the deadline the caller goes on and the thread
    finishes, or not, on its own. True when ``work`` finished in time; a fault is logged.
    """

    def run() -> None:
        try:
            work()
        except Exception:
            logger.warning("otel_worklog: %s failed", name, exc_info=True)

    thread = threading.Thread(target=run, name=f"otel-worklog-{name}", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    return not thread.is_alive()
