"""Live detectors on a generated history, through the public API and the real SDK.

The detector reads an injected fake clock; its watchdog pass (``tick()``) is run by hand, so no test
here waits in real time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util.types import AttributeValue

import otel_worklog as wl
from otel_worklog._internal import semconv as sc
from otel_worklog._internal.pipeline.detectors import (
    Alert,
    DetectorProcessor,
    create_detector_processor,
    fingerprint,
    on_alert,
    resolve_config,
)
from otel_worklog._internal.pipeline.detectors.config import KINDS
from otel_worklog._internal.settings import parse_detectors
from otel_worklog.testing import WorklogCapture

from .conftest import FakeClock
from .history_gen import play


def _detector(worklog: WorklogCapture, clock: FakeClock, spec: Any = True) -> DetectorProcessor:
    config = resolve_config(spec)
    assert config is not None
    detector = DetectorProcessor(config, worklog.provider, clock=clock, watchdog=False)
    worklog.provider.add_span_processor(detector)
    return detector


def _collect() -> list[Alert]:
    found: list[Alert] = []
    on_alert(found.append)
    return found


class TestGeneratedHistory:
    def test_each_detector_fires_exactly_where_planted(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        detector = _detector(worklog, clock)
        alerts = _collect()
        played = play(detector, clock.advance, workflows=300)
        index_of = {trace_id: index for index, trace_id in played.trace_ids.items()}
        got = {(a.kind, a.bot, index_of[a.trace_id or ""]) for a in alerts}
        assert played.expected == got
        assert len(alerts) == len(played.expected)  # each condition raised once
        assert {kind for kind, _, _ in got} == set(KINDS)
        # Every alert is also an `alert {kind}` span in the trace and workspace of the problem.
        spans = [s for s in worklog.spans() if s.attributes and sc.WORKLOG_ALERT_KIND in s.attributes]
        assert len(spans) == len(alerts)
        for span, alert in zip(sorted(spans, key=lambda s: s.start_time or 0), alerts, strict=True):
            attrs = span.attributes or {}
            assert span.name == sc.SPAN_ALERT.format(kind=alert.kind)
            assert attrs[sc.WORKLOG_ALERT_KIND] == alert.kind
            assert attrs[sc.WORKLOG_ALERT_RECOMMENDATION] == alert.recommendation
            assert json.loads(str(attrs[sc.WORKLOG_ALERT_EVIDENCE])) == json.loads(alert.evidence_json())
            assert format(span.context.trace_id, "032x") == alert.trace_id
            index = index_of[alert.trace_id or ""]
            assert attrs[sc.WORKSPACE_ID] == played.workspaces[index]
        assert detector.open_bot_count() == 0

    def test_recommendations_are_the_seeds(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        detector = _detector(worklog, clock)
        alerts = _collect()
        play(detector, clock.advance, workflows=300)
        by_kind = {a.kind: a.recommendation for a in alerts}
        assert by_kind == {
            "error_loop": "trigger_ai_autofix",
            "tool_loop": "fresh_session",
            "stuck_agent": "health_check",
            "cost_anomaly": "review_prompt_efficiency",
            "low_confidence_streak": "request_clarification",
        }

    def test_only_the_enabled_detectors_run(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        detector = _detector(worklog, clock, "error_loop,tool_loop")
        alerts = _collect()
        play(detector, clock.advance, workflows=120)
        assert sorted(a.kind for a in alerts) == ["error_loop", "tool_loop"]


@wl.tool(name="flaky")
def flaky(n: int) -> None:
    raise ConnectionError(f"connection to 10.0.0.{n}:5432 refused after {n * 3}s (req {n:08x}ab)")


@wl.tool(name="poll")
def poll() -> str:
    return "not yet"


class TestErrorLoop:
    def test_four_in_ten_minutes_fires_once_and_again_after_clearing(
        self, worklog: WorklogCapture, clock: FakeClock
    ) -> None:
        detector = _detector(worklog, clock, ["error_loop"])
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("coder"):
            for n in range(3):
                with pytest.raises(ConnectionError):
                    flaky(n)
                clock.advance(100)
            assert alerts == []
            for n in range(3, 6):
                with pytest.raises(ConnectionError):
                    flaky(n)
            assert len(alerts) == 1
            alert = alerts[0]
            assert alert.bot == "coder" and alert.workspace_id == "#w"
            assert alert.evidence["fingerprint"] == "ConnectionError: connection to <n> refused after <n> (req <id>)"
            clock.advance(601)
            detector.tick()
            for n in range(4):
                with pytest.raises(ConnectionError):
                    flaky(n)
            assert len(alerts) == 2

    def test_spread_out_errors_do_not_fire(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        _detector(worklog, clock, ["error_loop"])
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("coder"):
            for n in range(10):
                with pytest.raises(ConnectionError):
                    flaky(n)
                clock.advance(201)  # at most 3 in any 10 minutes
        assert alerts == []

    def test_each_bot_counts_alone_and_bubbling_exceptions_count_once(
        self, worklog: WorklogCapture, clock: FakeClock
    ) -> None:
        _detector(worklog, clock, ["error_loop"])
        alerts = _collect()
        with wl.workspace("#w"):
            for bot in ("a", "b"):
                for n in range(2):
                    with pytest.raises(ConnectionError), wl.bot(bot):
                        flaky(n)  # tool span and bot span both carry this exception
        assert alerts == []

    def test_an_exception_escaping_the_workspace_counts_once(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        _detector(worklog, clock, ["error_loop"])
        alerts = _collect()

        def workflow(n: int) -> None:
            with wl.workspace(f"#w{n}"):
                with wl.bot("nanobot"):
                    handoff = wl.handoff("coder")
                with wl.bot("coder", handoff=handoff):
                    flaky(n)  # tool span, bot span (a child of the handoff) and workspace all record it

        for n in range(3):
            with pytest.raises(ConnectionError):
                workflow(n)
        assert alerts == []
        with pytest.raises(ConnectionError):
            workflow(3)
        assert [(a.kind, a.bot, a.workspace_id) for a in alerts] == [("error_loop", "coder", "#w3")]

    def test_error_entries_count_too(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        _detector(worklog, clock, ["error_loop"])
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("coder"):
            for n in range(4):
                wl.error(f"git push failed for ve-a{n}b2: access denied")
        assert [a.kind for a in alerts] == ["error_loop"]

    def test_control_flow_and_copies_are_no_errors(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        _detector(worklog, clock, ["error_loop"])
        alerts = _collect()
        peer = worklog.provider.get_tracer("peer.instrumentation")
        with wl.workspace("#w"), wl.bot("supervisor"):
            copy_of = trace.format_span_id(trace.get_current_span().get_span_context().span_id)
            for n in range(6):
                with pytest.raises(ParentCommand):
                    hand_over(n)  # LangGraph's handoff, raised through the tool
                with peer.start_as_current_span("flaky", attributes={sc.WORKLOG_DUPLICATE_OF: copy_of}) as copy:
                    copy.record_exception(ConnectionError(f"connection to 10.0.0.{n}:5432 refused"))
        assert alerts == []


class ParentCommand(Exception):
    """What LangGraph raises to hand the work to another agent: control flow, not a failure."""


@wl.tool(name="hand_over")
def hand_over(n: int) -> None:
    raise ParentCommand(f"goto billing_agent {n}")


class TestToolLoop:
    def test_ten_calls_in_a_minute(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        detector = _detector(worklog, clock, ["tool_loop"])
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("researcher"):
            for _ in range(9):
                poll()
                clock.advance(5)
            assert alerts == []
            poll()
            assert len(alerts) == 1
            assert alerts[0].evidence["tool"] == "poll" and alerts[0].evidence["count"] == 10
            for _ in range(20):
                poll()
            assert len(alerts) == 1  # not raised again while the loop goes on
            clock.advance(61)
            detector.tick()
            for _ in range(10):
                poll()
            assert len(alerts) == 2

    def test_a_loop_that_pauses_past_the_window_fires_again_without_the_watchdog(
        self, worklog: WorklogCapture, clock: FakeClock
    ) -> None:
        _detector(worklog, clock, ["tool_loop"])
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("researcher"):
            for _ in range(15):
                poll()
            assert len(alerts) == 1
            clock.advance(59)
            for _ in range(9):
                poll()  # ten calls still inside one minute: the same loop, not a new one
            assert len(alerts) == 1
            clock.advance(61)
            for _ in range(9):
                poll()
            assert len(alerts) == 1  # nine calls in the new minute: not yet
            poll()
            assert len(alerts) == 2

    def test_other_bots_and_slow_calls_do_not_add_up(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        _detector(worklog, clock, ["tool_loop"])
        alerts = _collect()
        with wl.workspace("#w"):
            for i in range(30):
                with wl.bot(f"bot{i % 4}"):
                    poll()
                clock.advance(7)
        assert alerts == []


class TestStuckAgent:
    def test_no_activity_for_five_minutes(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        detector = _detector(worklog, clock, ["stuck_agent"])
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("reviewer"):
            clock.advance(290)
            assert detector.tick() == []
            wl.info("still here")  # an entry is activity
            clock.advance(290)
            assert detector.tick() == []
            poll()  # so is a span
            clock.advance(301)
            found = detector.tick()
            assert [a.kind for a in found] == ["stuck_agent"]
            clock.advance(100)
            assert detector.tick() == []  # not again until it clears
            wl.info("back")
            assert detector.tick() == []
            clock.advance(301)
            assert len(detector.tick()) == 1  # cleared by the entry, stuck again
        assert len(alerts) == 2
        assert alerts[0].bot == "reviewer" and alerts[0].workspace_id == "#w"
        assert detector.open_bot_count() == 0
        bot_span = worklog.span("invoke_agent reviewer")
        alert_spans = [s for s in worklog.spans() if s.name == "alert stuck_agent"]
        assert len(alert_spans) == 2
        assert all(s.parent is not None and s.parent.span_id == bot_span.context.span_id for s in alert_spans)

    def test_alert_spans_are_not_activity(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        detector = _detector(worklog, clock, ["stuck_agent", "tool_loop"])
        with wl.workspace("#w"), wl.bot("reviewer"):
            for _ in range(10):
                poll()  # a tool loop: its alert span carries bot.name
            clock.advance(301)
            assert [a.kind for a in detector.tick()] == ["stuck_agent"]

    def test_watchdog_thread_stops_on_shutdown(self, worklog: WorklogCapture) -> None:
        config = resolve_config({"stuck_agent": {"interval_s": 3600}})
        assert config is not None
        detector = DetectorProcessor(config, worklog.provider)
        thread = detector._thread
        assert thread is not None and thread.is_alive()
        detector.shutdown()  # the thread waits on an event, so this returns at once
        assert not thread.is_alive()

    def test_configure_and_shutdown_leave_no_watchdog(self) -> None:
        before = {t.ident for t in threading.enumerate() if t.name == "otel-worklog-watchdog"}
        capture = WorklogCapture()
        capture.configure(detectors=True)
        started = [t for t in threading.enumerate() if t.name == "otel-worklog-watchdog" and t.ident not in before]
        assert len(started) == 1
        wl.shutdown()
        started[0].join(timeout=5)
        assert not started[0].is_alive()


class TestCostAnomaly:
    def _spend(self, tokens_in: int, tokens_out: int, cost: float) -> None:
        with wl.bot("coder"):
            span = trace.get_current_span()
            span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, tokens_in)
            span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, tokens_out)
            span.set_attribute(sc.WORKLOG_COST, cost)

    def test_session_totals_over_the_thresholds(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        _detector(worklog, clock, {"cost_anomaly": {"cost": 0.5, "tokens": 10_000}, "error_loop": False})
        alerts = _collect()
        with wl.workspace("#cheap"):
            for _ in range(4):
                self._spend(1_000, 1_000, 0.1)  # 8,000 tokens, 0.4
        assert alerts == []
        with wl.workspace("#pricey"):
            for _ in range(4):
                self._spend(100, 100, 0.2)  # 0.6 after three
        assert [(a.kind, a.workspace_id) for a in alerts] == [("cost_anomaly", "#pricey")]
        assert alerts[0].evidence["cost"] == pytest.approx(0.6)
        with wl.workspace("#tokens"):
            self._spend(9_000, 2_000, 0.0)
        assert [a.workspace_id for a in alerts] == ["#pricey", "#tokens"]

    def test_a_copy_spends_nothing(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        _detector(worklog, clock, {"cost_anomaly": {"cost": 0.5, "tokens": 10_000}, "error_loop": False})
        alerts = _collect()
        peer = worklog.provider.get_tracer("peer.instrumentation")
        usage: dict[str, AttributeValue] = {
            sc.GEN_AI_USAGE_INPUT_TOKENS: 100,
            sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
            sc.WORKLOG_COST: 0.2,
        }
        with wl.workspace("#copied"):
            for _ in range(2):  # 0.4 spent, and a peer instrumentation's copy of each model call
                with wl.bot("coder"), peer.start_as_current_span("chat", attributes=usage) as call:
                    copy = {**usage, sc.WORKLOG_DUPLICATE_OF: trace.format_span_id(call.get_span_context().span_id)}
                    with peer.start_as_current_span("ChatOpenAI", attributes=copy):
                        pass
        assert alerts == []


class TestLowConfidence:
    def test_three_in_a_row(self, worklog: WorklogCapture, clock: FakeClock) -> None:
        _detector(worklog, clock, ["low_confidence_streak"])
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("coder"):
            wl.decision("maybe", confidence=0.5)
            wl.decision("maybe", confidence=0.5)
            wl.decision("sure", confidence=0.9)
            wl.decision("maybe", confidence=0.5)
            wl.uncertainty("an uncertainty entry is not a decision")
            wl.decision("maybe", confidence=0.6)
        assert alerts == []
        with wl.workspace("#w"), wl.bot("coder"):
            wl.decision("maybe", confidence=0.2)
        assert [a.kind for a in alerts] == ["low_confidence_streak"]
        assert alerts[0].evidence["streak"] == 3

    def test_the_watchdog_sees_a_streak_while_the_bot_is_still_working(
        self, worklog: WorklogCapture, clock: FakeClock
    ) -> None:
        detector = _detector(worklog, clock, ["low_confidence_streak", "stuck_agent"])
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("coder"):
            for _ in range(3):
                wl.decision("guessing", confidence=0.3)
            found = detector.tick()
            assert [a.kind for a in found] == ["low_confidence_streak"]
            assert [a.kind for a in alerts] == ["low_confidence_streak"]
        assert len(alerts) == 1  # the bot span's end does not count the same entries again


class TestCallbacksAndSpans:
    def test_a_raising_callback_is_logged_and_others_still_run(
        self, worklog: WorklogCapture, clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        _detector(worklog, clock, ["tool_loop"])

        def broken(alert: Alert) -> None:
            raise RuntimeError("notifier down")

        on_alert(broken)
        alerts = _collect()
        with caplog.at_level(logging.WARNING, logger="otel_worklog"), wl.workspace("#w"), wl.bot("b"):
            for _ in range(10):
                assert poll() == "not yet"
        assert len(alerts) == 1
        assert "on_alert callback" in caplog.text

    def test_configure_detectors_uses_the_registry(self, worklog: WorklogCapture) -> None:
        worklog.configure(detectors={"tool_loop": {"threshold": 3}})
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("b"):
            for _ in range(3):
                poll()
        wl.force_flush()  # finished spans wait for a full batch or the worker; a flush examines them now
        assert [a.kind for a in alerts] == ["tool_loop"]
        assert [s.name for s in worklog.spans()].count("alert tool_loop") == 1

    def test_a_partial_batch_is_examined_by_the_worker_without_a_flush(self, worklog: WorklogCapture) -> None:
        worklog.configure(detectors={"tool_loop": {"threshold": 3}})
        fired = threading.Event()
        on_alert(lambda alert: fired.set())
        with wl.workspace("#w"), wl.bot("b"):
            for _ in range(3):
                poll()
        # Far fewer spans than a batch: the worker thread examines them within its drain interval.
        assert fired.wait(timeout=10)

    def test_a_full_batch_is_examined_by_the_thread_that_completes_it(self) -> None:
        provider = TracerProvider()
        config = resolve_config({"tool_loop": {"threshold": 3}})
        assert config is not None
        detector = DetectorProcessor(config, provider, batch_size=4, drain_interval_s=3600)
        provider.add_span_processor(detector)
        threads: list[str] = []
        on_alert(lambda alert: threads.append(threading.current_thread().name))
        tracer = provider.get_tracer("t")
        attrs = {sc.BOT_NAME: "b", sc.GEN_AI_TOOL_NAME: "poll"}
        for _ in range(3):
            with tracer.start_as_current_span("execute_tool poll", attributes=attrs):
                pass
        assert threads == [] and detector.pending() == 3
        with tracer.start_as_current_span("execute_tool other", attributes={sc.BOT_NAME: "b"}):
            pass
        assert threads == [threading.current_thread().name]
        assert detector.pending() == 1  # the alert span itself, which the next batch skips
        detector.shutdown()
        assert detector.pending() == 0 and threads == [threading.current_thread().name]

    def test_alerts_still_pending_at_shutdown_are_raised_and_exported(self, worklog: WorklogCapture) -> None:
        worklog.configure(detectors={"tool_loop": {"threshold": 3}})
        alerts = _collect()
        with wl.workspace("#w"), wl.bot("b"):
            for _ in range(3):
                poll()
        wl.shutdown()  # the detectors are flushed before the exporters, so their alert spans get out
        assert [a.kind for a in alerts] == ["tool_loop"]
        exported = [s.name for s in worklog.exporter.get_finished_spans()]
        assert exported.count("alert tool_loop") == 1

    def test_a_fault_while_examining_a_batch_is_logged_and_the_app_goes_on(
        self, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from otel_worklog._internal import faults as errors

        monkeypatch.setattr(errors, "RAISE_INTERNAL_ERRORS", False)  # what users get: a warning, no raise

        def broken_clock() -> float:
            raise RuntimeError("clock broke")

        provider = TracerProvider()  # the SDK's own processor chain, which does not catch anything
        config = resolve_config(["tool_loop"])
        assert config is not None
        detector = DetectorProcessor(config, provider, clock=broken_clock, batch_size=2, drain_interval_s=3600)
        provider.add_span_processor(detector)
        tracer = provider.get_tracer("t")
        with caplog.at_level(logging.WARNING, logger="otel_worklog"):
            for _ in range(2):
                with tracer.start_as_current_span("execute_tool poll", attributes={sc.GEN_AI_TOOL_NAME: "poll"}):
                    pass
        assert "clock broke" in caplog.text
        detector.shutdown()

    def test_a_busy_examiner_never_makes_the_app_wait_and_the_backlog_stays_bounded(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from otel_worklog._internal.pipeline.detectors import processor

        monkeypatch.setattr(processor, "MAX_PENDING", 10)
        provider = TracerProvider()
        config = resolve_config({"tool_loop": {"threshold": 1000}})
        assert config is not None
        detector = DetectorProcessor(config, provider, batch_size=4, drain_interval_s=3600)
        provider.add_span_processor(detector)
        tracer = provider.get_tracer("t")
        holding, release = threading.Event(), threading.Event()

        def examine_elsewhere() -> None:
            with detector._drain_lock:  # another thread in the middle of a batch
                holding.set()
                release.wait(10)

        other = threading.Thread(target=examine_elsewhere)
        other.start()
        assert holding.wait(10)
        for _ in range(25):  # each end returns at once: the app never waits for the lock
            with tracer.start_as_current_span(
                "execute_tool poll", attributes={sc.BOT_NAME: "b", sc.GEN_AI_TOOL_NAME: "poll"}
            ):
                pass
        assert detector.pending() == 10 and detector.dropped == 15
        release.set()
        other.join(10)
        assert detector.drain() == 10 and detector.pending() == 0
        detector.shutdown()

    def test_memory_stays_bounded(self, clock: FakeClock) -> None:
        provider = TracerProvider()
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        config = resolve_config({"tool_loop": True, "error_loop": True, "cost_anomaly": True})
        assert config is not None
        config = dataclasses.replace(config, detector_max_keys=50)
        detector = DetectorProcessor(config, provider, clock=clock, watchdog=False)
        provider.add_span_processor(detector)
        tracer = provider.get_tracer("t")
        for i in range(2_000):
            attributes: dict[str, AttributeValue] = {
                sc.BOT_NAME: f"bot{i}",
                sc.GEN_AI_TOOL_NAME: f"tool{i}",
                sc.WORKLOG_COST: 0.001,
            }
            with tracer.start_as_current_span(f"execute_tool tool{i}", attributes=attributes):
                pass
        assert detector.tracked_keys() <= 3 * 50
        detector.shutdown()


class TestSettings:
    def test_env_list_json_and_bad_values(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.delenv("OTEL_WORKLOG_DETECTORS", raising=False)
        assert resolve_config(None) is None  # off by default
        monkeypatch.setenv("OTEL_WORKLOG_DETECTORS", "error_loop, tool_loop")
        config = resolve_config(None)
        assert config is not None and config.enabled == {"error_loop", "tool_loop"}
        monkeypatch.setenv("OTEL_WORKLOG_DETECTORS", '{"tool_loop": {"threshold": 3}, "stuck_agent": false}')
        config = resolve_config(None)
        assert config is not None and config.tool_loop_threshold == 3 and "stuck_agent" not in config.enabled
        monkeypatch.setenv("OTEL_WORKLOG_DETECTORS", "all")
        monkeypatch.setenv("OTEL_WORKLOG_ERROR_LOOP_THRESHOLD", "6")
        monkeypatch.setenv("OTEL_WORKLOG_STUCK_AGENT_THRESHOLD_S", "not a number")
        with caplog.at_level(logging.WARNING, logger="otel_worklog"):
            config = resolve_config(None)
        assert config is not None and config.enabled == set(KINDS)
        assert config.error_loop_threshold == 6 and config.stuck_agent_threshold_s == 300.0
        assert "OTEL_WORKLOG_STUCK_AGENT_THRESHOLD_S" in caplog.text
        configured = resolve_config({"error_loop": {"threshold": 2}})
        assert configured is not None and configured.error_loop_threshold == 2
        assert resolve_config(False) is None
        monkeypatch.setenv("OTEL_WORKLOG_DETECTORS", "error_loops,nonsense")
        with caplog.at_level(logging.WARNING, logger="otel_worklog"):
            assert resolve_config(None) is None
        assert create_detector_processor(False, TracerProvider()) is None

    def test_parse_detectors(self) -> None:
        assert parse_detectors(True) == {kind: {} for kind in KINDS}
        assert parse_detectors("off") == {}
        assert set(parse_detectors(["low_confidence", "cost-anomaly"])) == {"low_confidence_streak", "cost_anomaly"}
        with pytest.raises(ValueError):
            parse_detectors(42)


class TestFingerprint:
    @pytest.mark.parametrize(
        ("first", "second"),
        [
            ("Timeout after 30s on /tmp/a1/x.py", "Timeout after 45.5s on /var/lib/y"),
            (
                "user 550e8400-e29b-41d4-a716-446655440000 not found",
                "user 6ba7b810-9dad-11d1-80b4-00c04fd430c8 not found",
            ),
            ("commit 3f2a9c01de failed", "commit 00ab77cd12 failed"),
            ("GET https://api.x.com/v1/items?id=2 -> 503", "GET https://api.y.org/v2 -> 502"),
            ("fatal: remote error for ve-a1b2-impl", "fatal: remote error for ve-c3d4-other"),
        ],
    )
    def test_variable_parts_are_masked(self, first: str, second: str) -> None:
        assert fingerprint("E", first) == fingerprint("E", second)

    def test_different_errors_differ(self) -> None:
        assert fingerprint("E", "access denied") != fingerprint("E", "not found")
        assert fingerprint("KeyError", "x") != fingerprint("ValueError", "x")
