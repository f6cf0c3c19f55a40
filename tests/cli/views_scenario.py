"""Sessions written through the public API for the tests of what a user sees: a resolved escalation, a
caught tool timeout, a detector alert, long names, and trace text that would drive a terminal."""

from __future__ import annotations

from pathlib import Path

import otel_worklog as wl

#: Sets the window title, rings the bell, clears the screen, a C1 CSI, then reverses what follows.
CONTROLS = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"
SUPPORT = "#support-desk-escalations-for-enterprise-customers"
OPS = "#ops"
LOOPS = "#loops"
RESOLVED_REASON = "Refund above the limit: may I approve a refund of 1,200 EUR for the enterprise customer?"
RESOLUTION = "approved by the finance lead"
OPEN_REASON = f"Production deploy keeps timing out: roll back the release or wait for the platform team? {CONTROLS}x"
TIMEOUT_MESSAGE = f"deploy to prod timed out after 30 s {CONTROLS}y"
DEPLOY_ENTRIES = 8


@wl.tool
def deploy(target: str, attempt: int) -> str:
    if attempt == 1:
        raise TimeoutError(TIMEOUT_MESSAGE)
    return f"deployed to {target}"


@wl.tool
def status_page(service: str) -> str:
    return "green"


def fill_views_store(path: Path) -> dict[str, str]:
    """Three sessions in the store at ``path``; returns their trace ids by workspace."""
    wl.configure(service_name="views-tests", store=str(path), exporters=[], detectors=True)
    ids: dict[str, str] = {}
    try:
        with wl.workspace(SUPPORT, type="direct", participants=["helpdesk"], query="refund request") as ws:
            ids[SUPPORT] = ws.trace_id
            with wl.bot("helpdesk", role="support"):
                wl.decision("The refund is above my limit: ask a human", confidence=0.9)
                escalation = wl.escalate(RESOLVED_REASON, target="finance-lead")
            with wl.bot("helpdesk", role="support"):
                escalation.resolve(RESOLUTION)
        with wl.workspace(OPS, type="project", participants=["deployer", "watcher"], query="ship the release") as ws:
            ids[OPS] = ws.trace_id
            with wl.bot("deployer", role="release engineer"):
                for n in range(DEPLOY_ENTRIES):
                    wl.info(f"Deploy step {n + 1} of the release checked")
                wl.decision("Rate limiting stays on during the deploy", confidence=0.8)
                try:
                    deploy("prod", 1)
                except TimeoutError:
                    wl.correction("The deploy timed out; retrying once")
                deploy("prod", 2)
                wl.escalate(OPEN_REASON)
        with wl.workspace(LOOPS, type="project", participants=["watcher"]) as ws:
            ids[LOOPS] = ws.trace_id
            with wl.bot("watcher"):
                for _ in range(11):
                    status_page("api")
                wl.decision("Everything is green", confidence=0.95)
            wl.force_flush()
    finally:
        wl.shutdown()
    return ids


SINGLES = "#one-of-each"


@wl.tool
def lookup(key: str) -> str:
    raise KeyError(key)


def fill_singles_store(path: Path) -> str:
    """One session with exactly one entry, tool call, handoff, escalation and error; returns its trace id."""
    wl.configure(service_name="views-tests", store=str(path), exporters=[])
    try:
        with wl.workspace(SINGLES, type="project", participants=["asker", "answerer"]) as ws:
            with wl.bot("asker"):
                handoff = wl.handoff("answerer", reason="look the key up")
            with wl.bot("answerer", handoff=handoff):
                try:
                    lookup("missing")
                except KeyError:
                    pass
                wl.escalate("The key is missing: who owns it?")
        return ws.trace_id
    finally:
        wl.shutdown()
