"""The waterfall's layout rules, without a browser: the time axis and the packing of confidence labels."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from otel_worklog import semconv as sc
from otel_worklog._internal.query.records import EventRecord, SpanRecord
from otel_worklog._internal.render.html import render_html
from otel_worklog._internal.render.units import format_duration
from otel_worklog._internal.render.waterfall import Axis, Label, pack_labels

START = 1_700_000_000_000_000_000


def _decision(at_ns: int, confidence: float) -> EventRecord:
    attrs = {sc.WORKLOG_LEVEL: "decision", sc.WORKLOG_MESSAGE: "chose", sc.WORKLOG_CONFIDENCE: confidence}
    return EventRecord(sc.event_name("decision"), START + at_ns, attrs)


def _trace(length_ns: int) -> list[SpanRecord]:
    """A bot span of ``length_ns`` with four decisions a tenth of it apart."""
    events = tuple(_decision(length_ns // 10 * (i + 1), c) for i, c in enumerate((0.4, 0.3, 0.2, 0.9)))
    attrs = {sc.BOT_NAME: "planner", sc.WORKSPACE_ID: "#w"}
    span = SpanRecord("1" * 32, "2" * 16, None, "invoke_agent planner", "INTERNAL", START, START + length_ns, "UNSET")
    span.attributes, span.events = attrs, events
    return [span]


def test_ticks_of_a_sub_millisecond_trace_are_distinct_microseconds() -> None:
    page = render_html(_trace(800_000))
    ticks = re.findall(r'<text class="tick-label"[^>]*>([^<]*)</text>', page)
    assert ticks == ["+0 µs", "+200 µs", "+400 µs", "+600 µs", "+800 µs"]
    # The work log's times tell entries 80 µs apart from each other.
    times = re.findall(r'<tr class="entry"><td>([^<]*)</td>', page)
    assert times == ["+80 µs", "+160 µs", "+240 µs", "+320 µs"]


def test_axis_unit_follows_the_length_of_the_trace() -> None:
    def labels(total: int) -> list[str]:
        axis = Axis.of(0, total)
        return [axis.tick_label(t) for t in axis.ticks()]

    assert labels(1_760_000) == ["+0.0 ms", "+0.5 ms", "+1.0 ms", "+1.5 ms"]
    assert labels(258_000_000) == ["+0 ms", "+50 ms", "+100 ms", "+150 ms", "+200 ms", "+250 ms"]
    assert labels(12_000_000_000)[:3] == ["+0 s", "+2 s", "+4 s"]
    assert labels(1) == ["+0 ns", "+1 ns"]


def test_durations_in_the_unit_that_suits_them() -> None:
    assert [format_duration(ns) for ns in (420, 39_400, 1_540_000, 258_000_000, 12_500_000_000)] == [
        "420 ns",
        "39.4 µs",
        "1.54 ms",
        "258 ms",
        "12.5 s",
    ]


@given(
    st.lists(
        st.tuples(st.floats(min_value=0, max_value=900, allow_nan=False), st.floats(min_value=0, max_value=1)),
        max_size=40,
    )
)
def test_packed_labels_never_overlap(wanted: list[tuple[float, float]]) -> None:
    labels = [Label.for_confidence(anchor, confidence) for anchor, confidence in wanted]
    tiers = pack_labels(labels, left=200.0)
    assert tiers <= 3
    for label in labels:
        assert label.x >= 200.0 and 0 <= label.tier < max(tiers, 1)
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if a.tier == b.tier:
                assert a.x + a.width <= b.x or b.x + b.width <= a.x, (a, b)


def test_a_label_with_room_sits_centred_over_its_dot() -> None:
    labels = [Label.for_confidence(300.0, 0.4), Label.for_confidence(302.0, 0.3), Label.for_confidence(500.0, 0.9)]
    assert pack_labels(labels, left=200.0) == 2
    assert [label.tier for label in labels] == [0, 1, 0]
    assert all(abs(label.x + label.width / 2 - label.anchor) < 1e-9 for label in labels)
