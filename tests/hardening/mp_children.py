"""``multiprocessing`` workers that never call shutdown(): ``python -m tests.hardening.mp_children METHOD STORE``.

METHOD is ``fork`` (a Process and a Pool, both inheriting the parent's configuration) or ``spawn``
(a Process that configures otel_worklog itself, as a spawned worker must). Each worker records one
session of 8 spans and returns. The parent prints the number of sessions the workers made.
"""

from __future__ import annotations

import multiprocessing
import sys
from typing import Any

import otel_worklog as wl

SPANS_PER_SESSION = 8


@wl.tool
def step(item: int) -> int:
    return item


def work(index: int) -> None:
    with wl.workspace(f"#mp-{index}"), wl.bot("worker"):
        for item in range(SPANS_PER_SESSION - 2):
            step(item)


def spawned_work(index: int, store: str) -> None:
    wl.configure(store=store, service_name="spawned")
    work(index)


def main() -> None:
    method, store = sys.argv[1], sys.argv[2]
    context: Any = multiprocessing.get_context(method)
    if method == "fork":
        wl.configure(store=store, service_name="forking")
        process = context.Process(target=work, args=(0,))
        process.start()
        process.join(60)
        pool = context.Pool(2)
        pool.map(work, [1, 2, 3])
        pool.close()
        pool.join()
        sessions = 4
    else:
        process = context.Process(target=spawned_work, args=(0, store))
        process.start()
        process.join(60)
        sessions = 1
    print(sessions, flush=True)


if __name__ == "__main__":
    main()
