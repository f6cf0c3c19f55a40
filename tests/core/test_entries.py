"""Work-log entries: levels, steps, confidence, details, sampling and bad input."""

from __future__ import annotations

import logging
import math

import pytest
from opentelemetry.sdk.trace import Event
from opentelemetry.util.types import AttributeValue

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs, int_attr


def _attrs(event: Event) -> dict[str, AttributeValue]:
    return dict(attrs(event))


class TestLevels:
    @pytest.mark.parametrize("level", ["info", "thinking", "decision", "correction", "uncertainty", "warning", "error"])
    def test_shortcut_records_event_named_after_level(self, worklog: WorklogCapture, level: str) -> None:
        with wl.workspace("#general"), wl.bot("nanobot"):
            step = getattr(wl, level)("something happened", category="routing")
        (span, event), *_ = worklog.events()
        assert event.name == f"worklog.{level}"
        assert _attrs(event) == {
            sc.WORKLOG_LEVEL: level,
            sc.WORKLOG_CATEGORY: "routing",
            sc.WORKLOG_MESSAGE: "something happened",
            sc.WORKLOG_STEP: step,
        }
        assert span.name == "invoke_agent nanobot"

    @pytest.mark.parametrize("level", ["handoff", "coordination"])
    def test_log_accepts_every_seed_level(self, worklog: WorklogCapture, level: str) -> None:
        with wl.workspace("#general"), wl.bot("nanobot"):
            wl.log(level, "coordinating")
        assert [e.name for _, e in worklog.events()] == [f"worklog.{level}"]

    def test_steps_count_from_one_per_workspace_and_are_returned(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#a"), wl.bot("nanobot"):
            steps_a = [wl.info("one"), wl.thinking("two"), wl.decision("three", confidence=0.9)]
        with wl.workspace("#b"), wl.bot("nanobot"):
            steps_b = [wl.info("one")]
        assert steps_a == [1, 2, 3]
        assert steps_b == [1]
        recorded = sorted(int_attr(e, sc.WORKLOG_STEP) for _, e in worklog.events())
        assert recorded == [1, 1, 2, 3]

    def test_unknown_level_is_kept_as_info_with_a_warning(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, "otel_worklog"), wl.workspace("#a"):
            wl.log("shouting", "hello")
        ((_, event),) = worklog.events()
        assert event.name == "worklog.info"
        assert _attrs(event)["worklog.level.invalid"] == "'shouting'"
        assert "unknown work-log level" in caplog.text


class TestConversation:
    def test_message_threads_by_mentions_and_response_to(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#project-refactor", type="project"):
            with wl.bot("nanobot"):
                ask = wl.message("@researcher analyse auth", mentions=["@researcher"])
            with wl.bot("researcher"):
                answer = wl.message("Found 2 issues", response_to=ask)
        events = [_attrs(e) for _, e in worklog.events()]
        assert events[0][sc.WORKLOG_CATEGORY] == "bot_conversation"
        assert events[0][sc.WORKLOG_MENTIONS] == ("@researcher",)
        assert events[1][sc.WORKLOG_RESPONSE_TO] == ask
        assert answer == ask + 1


class TestConfidence:
    def test_decision_below_threshold_is_flagged_uncertainty(self, worklog: WorklogCapture) -> None:
        """The seeds' test_low_confidence_flagging: a 0.5 decision becomes an uncertainty."""
        with wl.workspace("#a"), wl.bot("nanobot"):
            wl.decision("Proceeding with 100 req/min", confidence=0.5)
        span, event = worklog.events()[0]
        assert event.name == "worklog.uncertainty"
        assert _attrs(event)[sc.WORKLOG_LEVEL] == "uncertainty"
        assert _attrs(event)[sc.WORKLOG_FLAGGED_FROM] == "decision"
        assert _attrs(event)[sc.WORKLOG_LOW_CONFIDENCE] is True
        assert attrs(span)[sc.WORKLOG_LOW_CONFIDENCE] is True

    def test_decision_at_threshold_stays_a_decision(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#a"), wl.bot("nanobot"):
            wl.decision("fine", confidence=0.7)
        span, event = worklog.events()[0]
        assert event.name == "worklog.decision"
        assert sc.WORKLOG_LOW_CONFIDENCE not in (span.attributes or {})

    def test_threshold_comes_from_environment(self, worklog: WorklogCapture, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("OTEL_WORKLOG_CONFIDENCE_THRESHOLD", "0.9")
        worklog.configure()
        with wl.workspace("#a"), wl.bot("nanobot"):
            wl.decision("hmm", confidence=0.85)
        assert worklog.events()[0][1].name == "worklog.uncertainty"

    @pytest.mark.parametrize("bad", ["high", math.nan, 1.5, -0.1, True])
    def test_bad_confidence_warns_and_keeps_the_entry(
        self, worklog: WorklogCapture, caplog: pytest.LogCaptureFixture, bad: object
    ) -> None:
        with caplog.at_level(logging.WARNING, "otel_worklog"), wl.workspace("#a"), wl.bot("nanobot"):
            step = wl.decision("chose", confidence=bad)
        ((_, event),) = worklog.events()
        attributes = _attrs(event)
        assert attributes[sc.WORKLOG_MESSAGE] == "chose"
        assert attributes[sc.WORKLOG_STEP] == step
        assert sc.WORKLOG_CONFIDENCE not in attributes
        assert attributes[sc.WORKLOG_CONFIDENCE_INVALID] == repr(bad)
        assert "confidence must be a number from 0 to 1" in caplog.text


class TestDetails:
    def test_details_are_flattened_into_attributes(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#a"), wl.bot("nanobot"):
            wl.info("looked up", details={"temp": 72, "sunny": True, "city": "Paris", "hits": [1, 2]})
        attributes = _attrs(worklog.events()[0][1])
        assert attributes["worklog.details.temp"] == 72
        assert attributes["worklog.details.sunny"] is True
        assert attributes["worklog.details.city"] == "Paris"
        assert attributes["worklog.details.hits"] == "[1, 2]"

    def test_capture_content_off_drops_details_but_keeps_the_message(self, worklog: WorklogCapture) -> None:
        worklog.configure(capture_content=False)
        with wl.workspace("#a"), wl.bot("nanobot"):
            wl.info("looked up", details={"city": "Paris"})
        attributes = _attrs(worklog.events()[0][1])
        assert attributes[sc.WORKLOG_MESSAGE] == "looked up"
        assert not any(k.startswith(sc.WORKLOG_DETAILS_PREFIX) for k in attributes)


class TestSampling:
    def test_info_sample_rate_zero_drops_only_info_and_thinking(self, worklog: WorklogCapture) -> None:
        worklog.configure(info_sample_rate=0.0)
        with wl.workspace("#a"), wl.bot("nanobot"):
            wl.info("noise")
            wl.thinking("more noise")
            wl.decision("kept", confidence=0.9)
            wl.warning("kept too")
            wl.insight("users like short answers", category="user_preference", confidence=0.9)
        assert [e.name for _, e in worklog.events()] == ["worklog.decision", "worklog.warning", "worklog.insight"]

    def test_info_sample_rate_defaults_to_keeping_everything(self, worklog: WorklogCapture) -> None:
        with wl.workspace("#a"), wl.bot("nanobot"):
            for i in range(50):
                wl.info(f"entry {i}")
        assert len(worklog.events("info")) == 50


class TestInsight:
    def test_high_confidence_insight_in_a_shareable_category_is_shareable(self, worklog: WorklogCapture) -> None:
        with wl.workspace("dm-researcher", type="direct"), wl.bot("researcher"):
            wl.insight("Lattice crypto leads PQC", category="research_finding", confidence=0.92, scope="bot_specific",
                       applies_to=["researcher"])  # fmt: skip
            wl.insight("maybe", category="research_finding", confidence=0.6)
        first, second = (_attrs(e) for _, e in worklog.events())
        assert first[sc.WORKLOG_INSIGHT_SHAREABLE] is True
        assert first[sc.WORKLOG_INSIGHT_SCOPE] == "bot_specific"
        assert first[sc.WORKLOG_INSIGHT_APPLIES_TO] == ("researcher",)
        assert second[sc.WORKLOG_INSIGHT_SHAREABLE] is False


class TestNotConfigured:
    def test_every_call_is_a_no_op_without_configure(self) -> None:
        wl.shutdown()
        with wl.workspace("#a") as ws, wl.bot("nanobot"):
            assert wl.decision("x", confidence=0.9) == 0
            assert wl.escalate("help").span_id == ""
            assert wl.handoff("coder").carrier == {}
        assert ws.id is None
