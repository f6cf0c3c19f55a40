"""A coder bot in its own process that picks up a handoff and records three steps into a store.

Usage: ``python steps_child.py CARRIER STORE REPLY_TO``. CARRIER is the JSON of ``h.carrier``, STORE
the SQLite store both processes write, REPLY_TO the step (of the sender) the coder's question
answers. Prints the three step numbers this process was given, as JSON. Internal faults of
otel_worklog make this process fail, as in the test suite.
"""

from __future__ import annotations

import json
import sys

import otel_worklog as wl
from otel_worklog._internal import faults as errors

errors.RAISE_INTERNAL_ERRORS = True


def main(argv: list[str]) -> int:
    carrier, store, reply_to = json.loads(argv[0]), argv[1], int(argv[2])
    wl.configure(service_name="steps-coder", store=store)
    try:
        with wl.bot("coder", handoff=carrier):
            steps = [
                wl.info("Picked up the plan"),
                wl.message("Which cache size?", mentions=["@planner"], response_to=reply_to),
                wl.decision("Start with the LRU cache", confidence=0.9),
            ]
    finally:
        wl.shutdown()
    print(json.dumps(steps))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
