"""The one rule that says how a session (or one bot's part of it) went.

``logs``, ``explain``, the HTML view, ``format_response`` and the analytics all count what happened
into an :class:`Outcome` and ask :func:`status_of`, so no two views can disagree:

- ``escalated``: an escalation still waits for a human (one resolved by ``Escalation.resolve()`` in the
  same session no longer counts, whichever export batch brought the resolution);
- ``error``: a bot (or the workspace) failed, or a bot logged an ``error`` entry;
- ``recovered``: a tool or another step failed, and the bots went on without failing;
- ``ok``: nothing failed.

A bot session "succeeds" (for analytics) when its status is ``ok`` or ``recovered``. What counts as a
bot, a workspace or a tool is ``span_kinds.classify``'s answer: a failed bot or workspace span is
``error``, any other failed span (a tool, a model call, another instrumentation's span) a step. What
counts as failed is ``span_kinds.is_failure``'s: another instrumentation's copy of a span fails with it
(counted once, on the span it copies), and a framework's control flow (LangGraph's ``ParentCommand``) is
no failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.span_kinds import Kind

__all__ = [
    "ERROR",
    "ERROR_ENTRY_EVENT",
    "ESCALATED",
    "FAILING_KINDS",
    "OK",
    "RECOVERED",
    "STATUSES",
    "STATUS_MEANINGS",
    "SUCCEEDED",
    "Outcome",
    "status_from_counts",
    "status_of",
    "succeeded",
]

ESCALATED: Final = "escalated"
ERROR: Final = "error"
RECOVERED: Final = "recovered"
OK: Final = "ok"
STATUSES: Final = (ESCALATED, ERROR, RECOVERED, OK)
#: The statuses of work that succeeded (for analytics): nothing left for a human, nothing failed for good.
SUCCEEDED: Final = frozenset({RECOVERED, OK})
#: What each status means, for the README and the CLI's help.
STATUS_MEANINGS: Final = {
    ESCALATED: "an escalation still waits for a human (a resolved one no longer counts)",
    ERROR: "a bot or the workspace failed, or a bot logged an error entry",
    RECOVERED: "a tool or another step failed, and the bots went on without failing",
    OK: "nothing failed",
}

#: The spans whose failure is the session's failure; any other span that fails is a step the bots may
#: recover from (a tool, a model call, a handoff, a foreign span).
FAILING_KINDS: Final = frozenset({Kind.BOT, Kind.WORKSPACE})
#: The event a bot's ``error`` entry is recorded as.
ERROR_ENTRY_EVENT: Final = sc.event_name("error")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened in a session or a bot's part of it, counted."""

    escalations: int = 0
    resolved_escalations: int = 0
    failed_bots: int = 0
    error_entries: int = 0
    failed_steps: int = 0

    @property
    def open_escalations(self) -> int:
        return max(0, self.escalations - self.resolved_escalations)


def status_of(outcome: Outcome) -> str:
    """``escalated`` beats ``error`` beats ``recovered`` beats ``ok``."""
    return status_from_counts(
        outcome.open_escalations, outcome.failed_bots, outcome.error_entries, outcome.failed_steps
    )


def status_from_counts(open_escalations: int, failed_bots: int, error_entries: int, failed_steps: int) -> str:
    """:func:`status_of` for counts at hand, without building an :class:`Outcome` (analytics asks per session)."""
    if open_escalations:
        return ESCALATED
    if failed_bots or error_entries:
        return ERROR
    if failed_steps:
        return RECOVERED
    return OK


def succeeded(outcome: Outcome) -> bool:
    """A bot session or workflow succeeded: nothing left for a human, no failure it did not recover from."""
    return status_of(outcome) in SUCCEEDED
