"""How the read model numbers a session's steps (query/steps.py), on hand-made spans."""

from __future__ import annotations

from otel_worklog import semconv as sc
from otel_worklog._internal.query.records import EventRecord, SpanRecord
from otel_worklog._internal.query.worklog import build_worklog


def _span(span_id: str, bot: str, entries: list[tuple[int, int, int | None]], epoch: str | None = None) -> SpanRecord:
    """A bot span with entries (time, recorded step, response_to); ``epoch`` names its count."""
    events = tuple(
        EventRecord(
            sc.event_name("info"),
            time,
            {sc.WORKLOG_LEVEL: "info", sc.WORKLOG_MESSAGE: f"{bot}@{time}", sc.WORKLOG_STEP: step}
            | ({sc.WORKLOG_RESPONSE_TO: reply} if reply is not None else {}),
        )
        for time, step, reply in entries
    )
    attrs: dict[str, object] = {sc.BOT_NAME: bot, sc.WORKSPACE_ID: "#w"}
    if epoch is not None:
        attrs[sc.WORKLOG_STEP_EPOCH] = epoch
    span = SpanRecord("1" * 32, span_id, None, f"invoke_agent {bot}", "INTERNAL", 0, 100, "UNSET")
    span.attributes, span.events = attrs, events
    return span


def _shown(spans: list[SpanRecord]) -> list[tuple[str, int | None, int | None]]:
    return [(e.message, e.step, e.response_to) for e in build_worklog(spans).entries]


def test_a_session_without_reused_numbers_keeps_them_gaps_and_all() -> None:
    # Step 3 was sampled out: the numbers the code was given stay as they are.
    spans = [_span("a" * 16, "planner", [(1, 1, None), (2, 2, None), (4, 4, 2), (5, 5, None)])]
    assert _shown(spans) == [
        ("planner@1", 1, None),
        ("planner@2", 2, None),
        ("planner@4", 4, 2),
        ("planner@5", 5, None),
    ]


def test_reused_numbers_move_up_and_replies_follow() -> None:
    sender = _span("a" * 16, "planner", [(1, 1, None), (2, 2, None), (3, 3, None), (7, 4, 4), (8, 5, 3)])
    receiver = _span("b" * 16, "coder", [(4, 3, 1), (5, 4, None), (6, 5, None)], epoch="e1")
    assert _shown([sender, receiver]) == [
        ("planner@1", 1, None),
        ("planner@2", 2, None),
        ("planner@3", 3, None),
        ("coder@4", 4, 1),  # answers the planner's 1: no earlier 1 in the coder's own count
        ("coder@5", 5, None),
        ("coder@6", 6, None),
        ("planner@7", 7, 5),  # quotes the coder's 4: the planner's count has no earlier 4
        ("planner@8", 8, 3),  # its own 3, though the coder recorded a 3 later
    ]


def test_a_bot_filtered_view_shows_the_sessions_numbers() -> None:
    sender = _span("a" * 16, "planner", [(1, 1, None), (2, 2, None), (7, 3, None)])
    receiver = _span("b" * 16, "coder", [(4, 3, None), (5, 4, None)], epoch="e1")
    planner = build_worklog([sender, receiver], bot="planner")
    assert [e.step for e in planner.entries] == [1, 2, 5]
