"""A child forked while another thread holds every lock the recording API takes: ``python -m
tests.hardening.fork_held_locks STORE``.

A prefork server may fork at any moment, while one of its threads is inside ``configure()`` or is
logging past a span's event limit. The child must not inherit those locks held (held forever: the
thread that would release them does not exist there). The child configures, works in the
workspace it inherited, overflows a span's event limit and shuts down, under an alarm that turns a
hang into exit status 3. Prints one JSON line with the child's exit status and what it stored.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import threading

import otel_worklog as wl
from otel_worklog._internal.record import ledger
from otel_worklog._internal.record.state import STATE

#: How long the child may take before it counts as hung (it needs well under a second).
_ALARM_S = 30


def _hold_locks(held: threading.Event, release: threading.Event) -> None:
    with STATE.lock, ledger.DROPPED._lock, ledger._CONTINUATIONS_LOCK:
        held.set()
        release.wait()


def _child(store: str) -> None:
    signal.signal(signal.SIGALRM, lambda *_: os._exit(3))
    signal.alarm(_ALARM_S)
    wl.configure(store=store)
    with wl.bot("child"):
        for n in range(5):
            wl.info(f"step {n}")  # past the event limit of 2: continuation spans, and a count of none lost
    wl.shutdown(timeout_s=10)
    os._exit(0)


def main() -> None:
    store = sys.argv[1]
    os.environ["OTEL_SPAN_EVENT_COUNT_LIMIT"] = "2"
    wl.configure(store=store)
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_hold_locks, args=(held, release))
    with wl.workspace("#parent"):
        holder.start()
        held.wait()
        pid = os.fork()
        if pid == 0:
            _child(store)
        release.set()
        holder.join()
        _, status = os.waitpid(pid, 0)
    wl.shutdown()
    with sqlite3.connect(store) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM spans ORDER BY id")]
    print(json.dumps({"status": os.waitstatus_to_exitcode(status), "spans": names}), flush=True)


if __name__ == "__main__":
    main()
