"""A bot process for the store tests: ``python -m tests.store.writer_proc STORE TAG SESSIONS [GO_FILE]``.

Writes SESSIONS workspace sessions through the public API into STORE, each with
one bot span, 10 tool spans and entries, then prints how many spans it made.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import otel_worklog as wl


@wl.tool
def step(i: int) -> int:
    return i * 2


def main() -> None:
    store, tag, sessions = sys.argv[1], sys.argv[2], int(sys.argv[3])
    go = Path(sys.argv[4]) if len(sys.argv) > 4 else None
    while go is not None and not go.exists():
        time.sleep(0.005)
    wl.configure(service_name=f"writer-{tag}", store=store)
    spans = 0
    try:
        for n in range(sessions):
            with wl.workspace(f"#ws-{tag}", type="project", query=f"job {n}"):
                with wl.bot(f"bot-{tag}"):
                    for i in range(10):
                        step(i)
                        wl.decision(f"{tag} decided {n}.{i}", confidence=0.9)
            spans += 12
    finally:
        wl.shutdown()
    print(spans, flush=True)


if __name__ == "__main__":
    main()
