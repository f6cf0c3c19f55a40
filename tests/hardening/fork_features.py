"""What a forked child still does: ``python -m tests.hardening.fork_features STORE``.

The parent configures detectors and insight delivery, uses them once (so their threads and the
ledger's connection exist), and forks. The child makes a tool loop and shares an insight, then
waits for the alert (raised by the child's own watchdog, with no flush) and the insight delivery.
It prints one JSON line with what the child saw.
"""

from __future__ import annotations

import json
import os
import sys
import threading

import otel_worklog as wl


@wl.tool
def poll() -> str:
    return "not yet"


def main() -> None:
    store = sys.argv[1]
    wl.configure(store=store, detectors={"tool_loop": {"threshold": 3}})
    alerts: list[str] = []
    alerted = threading.Event()
    insights: list[str] = []

    def on_alert(alert: wl.Alert) -> None:
        alerts.append(f"{alert.kind} {alert.bot}")
        alerted.set()

    wl.on_alert(on_alert)
    wl.on_insight("coder", lambda insight: insights.append(insight.text))
    with wl.workspace("#parent"), wl.bot("nanobot"):
        wl.insight("Parent's insight", category="domain_knowledge", confidence=0.95)
    assert wl.force_flush(30)
    alerted.clear()
    alerts.clear()
    insights.clear()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        with wl.workspace("#child"), wl.bot("looper"):
            for _ in range(3):
                poll()
            wl.insight("Child's insight", category="domain_knowledge", confidence=0.95)
        seen = {"alert": alerted.wait(10), "alerts": alerts}
        seen["flushed"] = wl.force_flush(30)
        seen["insights"] = insights
        wl.shutdown(timeout_s=10)
        os.write(write_end, json.dumps(seen).encode())
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end) as report:
        print(report.read() or json.dumps({"status": status}), flush=True)
    wl.shutdown()


if __name__ == "__main__":
    main()
