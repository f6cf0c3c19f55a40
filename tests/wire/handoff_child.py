"""The receiving side of a cross-process handoff, run as its own Python process.

Usage: ``python handoff_child.py CARRIER [--new-trace] [--raw]``. CARRIER is the
JSON of ``h.carrier``; it is decoded to a dict first unless ``--raw`` passes the
text through unchanged (for garbage carriers). The OTEL_* environment says where
to export (OTLP/HTTP). Internal faults of otel_worklog make this process fail, as
in the test suite, and warnings go to stderr for the parent test to read.
"""

from __future__ import annotations

import json
import logging
import sys

import otel_worklog as wl
from otel_worklog._internal import faults as errors

errors.RAISE_INTERNAL_ERRORS = True


@wl.tool
def write_code(path: str) -> str:
    return f"wrote {path}"


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    text, options = argv[0], set(argv[1:])
    carrier = text if "--raw" in options else json.loads(text)
    wl.configure(store=False)
    with wl.bot("coder", handoff=carrier, new_trace="--new-trace" in options) as bot:
        wl.info("Picked up the handoff")
        write_code("main.py")
        context = bot.span.get_span_context()
    wl.shutdown()
    print(json.dumps({"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
