"""The one session-status rule: escalated beats error beats recovered beats ok."""

from __future__ import annotations

import itertools

from otel_worklog._internal.status import (
    ERROR,
    ESCALATED,
    OK,
    RECOVERED,
    STATUS_MEANINGS,
    STATUSES,
    Outcome,
    status_of,
    succeeded,
)


def test_precedence() -> None:
    assert status_of(Outcome()) == OK
    assert status_of(Outcome(failed_steps=3)) == RECOVERED
    assert status_of(Outcome(failed_steps=3, error_entries=1)) == ERROR
    assert status_of(Outcome(failed_bots=1)) == ERROR
    assert status_of(Outcome(escalations=1, failed_bots=1)) == ESCALATED
    assert status_of(Outcome(escalations=2, resolved_escalations=1)) == ESCALATED
    assert status_of(Outcome(escalations=1, resolved_escalations=1, failed_steps=1)) == RECOVERED
    assert status_of(Outcome(escalations=1, resolved_escalations=1)) == OK


def test_success_is_ok_or_recovered_for_every_outcome() -> None:
    for counts in itertools.product(range(3), repeat=5):
        outcome = Outcome(*counts)
        status = status_of(outcome)
        assert status in STATUSES
        assert succeeded(outcome) == (status in (OK, RECOVERED))
        assert succeeded(outcome) == (
            outcome.open_escalations == 0 and not outcome.failed_bots and not outcome.error_entries
        )


def test_every_status_has_a_meaning() -> None:
    assert set(STATUS_MEANINGS) == set(STATUSES)
