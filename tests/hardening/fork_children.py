"""Fork children while the store exporter is busy: ``python -m tests.hardening.fork_children STORE CHILDREN``.

The parent keeps its store exporter inside ``export()`` almost all the time (a thread records spans
with large entries, about 50,000 a second, exported every few milliseconds) and forks CHILDREN processes
meanwhile, as a prefork server does. Each child records one session and calls ``wl.shutdown()``. It
prints one JSON line: how many children finished, how many hung (killed after the wait), and how
long each shutdown took.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import otel_worklog as wl

#: How long the parent waits for all its children before it counts the rest as hung.
WAIT_S = 60.0


def busy(stop: threading.Event) -> None:
    filler = "x" * 2_000
    n = 0
    while not stop.is_set():
        with wl.workspace("#parent"), wl.bot("producer"):
            for _ in range(50):
                wl.info(f"{n} {filler}")
                n += 1
        time.sleep(0.001)  # an app waits on I/O now and then: the GIL changes hands


def child(index: int, report: int) -> None:
    with wl.workspace(f"#child-{index}"), wl.bot("worker"):
        wl.decision(f"child {index} decided", confidence=0.9)
    start = time.monotonic()
    wl.shutdown(timeout_s=10)
    os.write(report, f"{time.monotonic() - start:.3f}\n".encode())
    os._exit(0)


def main() -> None:
    store, children = sys.argv[1], int(sys.argv[2])
    os.environ["OTEL_WORKLOG_SCHEDULE_DELAY_MS"] = "2"
    wl.configure(store=store, service_name="prefork")
    stop = threading.Event()
    producer = threading.Thread(target=busy, args=(stop,), daemon=True)
    producer.start()
    time.sleep(0.5)
    read_end, write_end = os.pipe()
    pids = []
    for index in range(children):
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            child(index, write_end)
        pids.append(pid)
        time.sleep(0.02)
    os.close(write_end)
    stop.set()
    deadline = time.monotonic() + WAIT_S
    hung = 0
    for pid in pids:
        while os.waitpid(pid, os.WNOHANG) == (0, 0):
            if time.monotonic() > deadline:
                hung += 1
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                break
            time.sleep(0.02)
    with os.fdopen(read_end) as reports:
        times = [float(line) for line in reports.read().split()]
    wl.shutdown(timeout_s=30)
    print(json.dumps({"children": children, "hung": hung, "shutdown_s": times}), flush=True)


if __name__ == "__main__":
    main()
