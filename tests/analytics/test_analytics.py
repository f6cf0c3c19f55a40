"""Analytics figures on a small fixed history, checked against numbers worked out by hand
(see fixed_history.py for the arithmetic)."""

from __future__ import annotations

import gc
import random

import pytest

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query import analytics as an
from otel_worklog._internal.query.analytics.analyses import HIGH_OVERHEAD_TEXT, LOW_OVERHEAD_TEXT
from otel_worklog._internal.query.records import SpanRecord

from .fixed_history import fixed_history, ns


@pytest.fixture
def history() -> an.History:
    return an.build_history(fixed_history())


def test_workflows(history: an.History) -> None:
    stats = an.analyze_workflows(history)
    assert stats.total_workflows == 4
    assert stats.successful == 2  # B: unhandled error, C: unresolved escalation
    assert stats.success_rate == 0.5
    assert stats.failures == {"unhandled_error": 1, "unresolved_escalation": 1}
    assert stats.avg_duration_s == pytest.approx((120 + 100 + 200 + 50) / 4)
    assert stats.avg_bots_per_workflow == pytest.approx((3 + 2 + 2 + 2) / 4)
    assert stats.most_common_patterns == [
        ("nanobot → coder", 2),
        ("nanobot → researcher", 1),
        ("nanobot → researcher → coder", 1),
    ]
    est = stats.estimates
    assert est is not None
    assert (est.workflows, est.over_estimate) == (2, 1)
    assert est.avg_estimated_s == pytest.approx(175)
    assert est.avg_actual_s == pytest.approx(160)
    assert est.avg_ratio == pytest.approx((1.2 + 0.8) / 2)


def test_coordination_overhead(history: an.History) -> None:
    stats = an.coordination_overhead(history)
    per_workflow = [(row.trace_id[0], row.coordination_s, row.tool_s) for row in stats.workflows]
    expected = [("a", 16, 50), ("b", 4, 44.8), ("c", 12, 30), ("d", 13, 22)]
    assert [row[0] for row in per_workflow] == [row[0] for row in expected]
    assert [row[1:] for row in per_workflow] == [pytest.approx(row[1:]) for row in expected]
    assert stats.coordination_s == pytest.approx(45)
    assert stats.tool_s == pytest.approx(146.8)
    assert stats.coordination_overhead_pct == pytest.approx(100 * 45 / 191.8)
    assert stats.avg_coordination_minutes == pytest.approx(45 / 4 / 60)
    assert stats.recommendation == LOW_OVERHEAD_TEXT
    assert an.coordination_overhead(history, threshold_pct=20).recommendation == HIGH_OVERHEAD_TEXT
    # The recommendation says what to do in plain words (it named an internal plan's "Phase 3" before).
    assert HIGH_OVERHEAD_TEXT.startswith("High coordination overhead: ")
    assert "Phase" not in HIGH_OVERHEAD_TEXT


def test_bot_comparison(history: an.History) -> None:
    rows = {row.bot: row for row in an.compare_bots(history)}
    assert list(rows) == ["coder", "nanobot", "researcher"]
    nanobot, researcher, coder = rows["nanobot"], rows["researcher"], rows["coder"]
    assert (nanobot.sessions, nanobot.success_pct, nanobot.first_shot_pct) == (4, 100, 100)
    assert nanobot.avg_time_s == pytest.approx((20 + 10 + 10 + 2) / 4)
    assert (researcher.sessions, researcher.success_pct, researcher.first_shot_pct) == (2, 50, 50)
    assert researcher.avg_time_s == pytest.approx((35 + 180) / 2)
    assert coder.sessions == 3
    assert coder.success_pct == pytest.approx(200 / 3)
    assert coder.first_shot_pct == 0  # A: a failed test and a correction, D: a failed test
    assert coder.avg_time_s == pytest.approx((56 + 83 + 48) / 3)
    assert coder.avg_tokens == pytest.approx((1500 + 4000 + 0) / 3)
    assert coder.avg_cost == pytest.approx(0.25 / 3)
    only = an.compare_bots(history, ["coder", "ghost"])
    assert [(r.bot, r.sessions) for r in only] == [("coder", 3), ("ghost", 0)]


def test_error_clusters(history: an.History) -> None:
    clusters = an.error_clusters(history)
    assert [(c.fingerprint, c.count, c.workflows) for c in clusters] == [
        ("AssertionError: test <n> failed", 2, 2),
        ("FileNotFoundError: no such file <path>", 1, 1),  # one exception, recorded by three spans
    ]
    first = clusters[0]
    assert first.workspaces == ["#project-api", "#project-web"]
    assert first.bots == ["coder"]
    assert (first.first_seen_ns, first.last_seen_ns) == (ns(100), ns(3028))
    assert first.sample_message == "test 22 failed"


def test_trends(history: an.History) -> None:
    trends = {t.bot: t for t in an.bot_trends(history, now_ns=ns(3050), recent_days=1500 / 86400)}
    # recent: sessions from 1550 s on (C and D); earlier: A and B
    assert trends["nanobot"].trend == "improving"  # same success, 6 s against 15 s
    assert trends["nanobot"].duration_change_pct == pytest.approx(-60)
    assert trends["researcher"].trend == "declining"  # 0/1 against 1/1
    assert trends["researcher"].success_rate_change == pytest.approx(-1)
    assert trends["coder"].trend == "improving"  # 1/1 against 1/2
    assert trends["coder"].success_rate_change == pytest.approx(0.5)
    everything_recent = an.bot_trends(history, now_ns=ns(3050), recent_days=7)
    assert {t.trend for t in everything_recent} == {"insufficient_data"}


def test_stable_trend() -> None:
    spans = fixed_history()
    # Only A and D (both successful; nanobot 20 s then 2 s is a change, coder 56 s then 48 s is not).
    history = an.build_history([s for s in spans if s.trace_id[0] in "ad"])
    trends = {t.bot: t.trend for t in an.bot_trends(history, now_ns=ns(3050), recent_days=1500 / 86400)}
    assert trends == {"coder": "stable", "nanobot": "improving", "researcher": "insufficient_data"}


def test_recommend(history: an.History) -> None:
    found = an.recommend(history, "API development")
    assert [(r.bot, r.confidence) for r in found] == [
        ("coder", round(1.0 * (0.7 * 2 / 3 + 0.3 * 0.3), 4)),  # api + develop(er); 3 tasks, 2 succeeded
        ("nanobot", round(0.5 * (0.7 * 1.0 + 0.3 * 0.2), 4)),  # api only; A and C, both fine
    ]
    assert found[0].matched_keywords == ["api", "develop"]
    assert found[0].total_tasks == 3 and found[0].matching_tasks == 3
    everyone = an.recommend(history, "API development", include_all=True)
    assert [(r.bot, r.confidence) for r in everyone][-1] == ("researcher", round(0.5 * (0.7 * 0.5 + 0.3 * 0.2), 4))
    assert [r.bot for r in an.recommend(history, "API development", domain="backend")] == ["coder"]
    assert an.recommend(history, "quantum chemistry") == []
    assert len(an.recommend(history, "quantum chemistry", include_all=True)) == 3


def test_keywords() -> None:
    assert an.keywords("Build the REST APIs for userAccounts, testing_suite") == {
        "build",
        "rest",
        "api",
        "user",
        "account",
        "test",
        "suite",
    }


def test_window_and_alert_spans_are_left_out() -> None:
    spans = fixed_history()
    alert = SpanRecord(
        trace_id="a" * 32,
        span_id="f" * 16,
        parent_span_id="a7".ljust(16, "0"),
        name="alert tool_loop",
        kind="INTERNAL",
        start_ns=ns(70),
        end_ns=ns(70),
        status_code="UNSET",
        attributes={sc.WORKLOG_ALERT_KIND: "tool_loop", sc.BOT_NAME: "coder", sc.WORKSPACE_ID: "#project-api"},
    )
    history = an.build_history([*spans, alert])
    assert an.compare_bots(history) == an.compare_bots(an.build_history(spans))
    assert history.workflows[0].alerts == {"tool_loop": 1}
    window = an.workflows_between(history, ns(1500), None)
    assert [w.workspace_id for w in window.workflows] == ["#project-api", "#project-web"]
    assert [c.count for c in an.error_clusters(window)] == [1]


def test_spans_in_any_order_give_the_same_history() -> None:
    """Readers give a trace's spans in start order; a list in another order is sorted first."""
    spans = fixed_history()
    shuffled = spans[:]
    random.Random(3).shuffle(shuffled)
    expected = an.build_history(spans)
    assert an.build_history(shuffled) == expected
    assert an.build_history(reversed(spans)) == expected
    assert expected.workflows[0].sequence == ("nanobot", "researcher", "coder")


def test_what_a_pause_built_is_not_walked_again_as_young() -> None:
    """The collection after a pause would walk the whole history to find nothing: it goes to the old generation."""
    gc.collect()
    with an.paused_gc():
        history = an.build_history(fixed_history())
    assert gc.get_count()[0] < 50
    old = {id(item) for item in gc.get_objects(generation=2)}
    assert {id(history), id(history.workflows[0]), id(history.workflows[0].sessions[0])} <= old


def test_objects_the_process_froze_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with an.paused_gc():
            an.build_history(fixed_history())
        assert gc.get_freeze_count() == frozen > 0
    finally:
        gc.unfreeze()


def test_the_garbage_collector_is_back_on_afterwards() -> None:
    assert gc.isenabled()
    an.build_history(fixed_history())
    assert gc.isenabled()
    gc.disable()
    try:
        an.build_history(fixed_history())
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
