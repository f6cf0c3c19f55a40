"""The waterfall of the HTML view: a lane per bot, a row per span, handoff arrows, as inline SVG.

Everything is laid out here, in Python, so the page needs no script: the time axis picks its
unit from the length of the trace, and confidence labels are packed into tiers above their bar
so that no two of them, and no label and a handoff marker, ever share a pixel. Each label gets an
exact ``textLength``, so its box is the width computed here whatever font the reader has.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import EventRecord, SpanRecord
from otel_worklog._internal.query.worklog import HandoffItem
from otel_worklog._internal.render.units import format_duration, span_status, unit_of

__all__ = ["Axis", "Label", "Waterfall", "confidence_class", "event_confidence", "pack_labels"]

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#bab0ac", "#ff9da7")
NO_BOT = "(workspace)"
_NAME_COLUMN = 210  # span names, left of the bars
_BARS = 620  # width of the time scale
_RIGHT_MARGIN = 60
_AXIS_HEIGHT = 26
_LANE_HEAD = 22
_LANE_GAP = 6
_BAR = 16
_ROW_GAP = 8
#: Confidence labels: font size, height of one tier, the most tiers a row opens before labels shift right.
_LABEL_FONT = 10
_TIER = 15
_MAX_TIERS = 3
_LABEL_GAP = 3.0
#: Width of a label's characters at 10px in a wide sans font (DejaVu Sans): digits, then "%".
_DIGIT_WIDTH = 6.4
_PERCENT_WIDTH = 9.6
_NAME_CHAR_WIDTH = 7.2


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def confidence_class(confidence: float) -> str:
    if confidence >= 0.85:
        return "high"
    if confidence >= 0.7:
        return "mid"
    return "low"


def event_confidence(event: EventRecord) -> float | None:
    value = event.attributes.get(sc.WORKLOG_CONFIDENCE)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class Axis:
    """The time scale of one trace: its unit from the trace's length, ticks 1, 2 or 5 times a power of ten apart."""

    start_ns: int
    total_ns: int
    step_ns: float
    unit_ns: float
    unit: str

    @staticmethod
    def of(start_ns: int, end_ns: int, ticks: int = 6) -> Axis:
        total = max(1, end_ns - start_ns)
        raw = total / ticks
        magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
        size, unit = unit_of(total)
        return Axis(start_ns, total, float(step), size, unit)

    def x(self, time_ns: int) -> float:
        """Where ``time_ns`` falls on the bars, from 0 to ``_BARS``."""
        return min(max(0, time_ns - self.start_ns), self.total_ns) / self.total_ns * _BARS

    def percent(self, time_ns: int) -> float:
        return self.x(time_ns) / _BARS * 100

    def _decimals(self, finer: int) -> int:
        """Digits after the point that tell ticks apart, plus ``finer`` (none for whole nanoseconds)."""
        if self.unit_ns == 1:
            return 0
        return max(0, finer - math.floor(math.log10(self.step_ns / self.unit_ns) + 1e-9))

    def tick_label(self, offset_ns: float) -> str:
        return f"+{offset_ns / self.unit_ns:.{self._decimals(0)}f} {self.unit}"

    def offset(self, time_ns: int) -> str:
        """A time as an offset from the start, two digits finer than the ticks: ``+0.412 ms``."""
        return f"+{max(0, time_ns - self.start_ns) / self.unit_ns:.{self._decimals(2)}f} {self.unit}"

    def ticks(self) -> list[float]:
        count = int(self.total_ns // self.step_ns)
        return [i * self.step_ns for i in range(count + 1)]


@dataclass(slots=True)
class Label:
    """A confidence label: where its dot is, its text and, once packed, its place."""

    anchor: float
    text: str
    css: str
    width: float = 0.0
    x: float = 0.0
    tier: int = 0

    @staticmethod
    def for_confidence(anchor: float, confidence: float) -> Label:
        text = f"{confidence:.0%}"
        width = sum(_PERCENT_WIDTH if ch == "%" else _DIGIT_WIDTH for ch in text)
        return Label(anchor, text, f"conf conf-{confidence_class(confidence)}", width)


def pack_labels(labels: list[Label], left: float) -> int:
    """Give each label a tier and an x so that no two overlap; returns the number of tiers used.

    A label sits centred over its dot, in the first tier with room there; when ``_MAX_TIERS``
    are full it moves right, into the tier that frees up first.
    """
    ends: list[float] = []
    for label in sorted(labels, key=lambda item: item.anchor):
        wanted = max(left, label.anchor - label.width / 2)
        tier = next((i for i, end in enumerate(ends) if end + _LABEL_GAP <= wanted), None)
        if tier is None and len(ends) < _MAX_TIERS:
            ends.append(-math.inf)
            tier = len(ends) - 1
        if tier is None:
            tier = min(range(len(ends)), key=ends.__getitem__)
            wanted = ends[tier] + _LABEL_GAP
        label.x, label.tier = wanted, tier
        ends[tier] = wanted + label.width
    return len(ends)


@dataclass(slots=True)
class _Row:
    span: SpanRecord
    labels: list[Label]
    tiers: int
    top: float = 0.0

    @property
    def height(self) -> float:
        return self.tiers * _TIER + _BAR + _ROW_GAP

    @property
    def bar_top(self) -> float:
        return self.top + self.tiers * _TIER

    @property
    def centre(self) -> float:
        return self.bar_top + _BAR / 2


@dataclass(slots=True)
class Waterfall:
    """The SVG for one trace's spans, grouped into lanes by bot."""

    spans: Sequence[SpanRecord]
    handoffs: Sequence[HandoffItem]
    axis: Axis
    lanes: dict[str, list[_Row]] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for span in self.spans:
            labels = [
                Label.for_confidence(self._x(event.time_ns), confidence)
                for event in span.events
                if (confidence := event_confidence(event)) is not None
            ]
            tiers = pack_labels(labels, _NAME_COLUMN)
            self.lanes.setdefault(span.bot_name or NO_BOT, []).append(_Row(span, labels, tiers))
        self.colors = {lane: PALETTE[i % len(PALETTE)] for i, lane in enumerate(self.lanes)}

    def _x(self, time_ns: int) -> float:
        return _NAME_COLUMN + self.axis.x(time_ns)

    def svg(self) -> str:
        body, height = self._lanes()
        width = max(
            [_NAME_COLUMN + _BARS + _RIGHT_MARGIN]
            + [label.x + label.width + 4 for rows in self.lanes.values() for row in rows for label in row.labels]
        )
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="waterfall" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="waterfall: a lane per bot">'
            + self._axis(height)
            + body
            + self._handoffs()
            + "</svg>"
        )

    def _axis(self, height: float) -> str:
        parts = []
        for offset in self.axis.ticks():
            x = _NAME_COLUMN + offset / self.axis.total_ns * _BARS
            parts.append(
                f'<line class="tick" x1="{x:.1f}" y1="{_AXIS_HEIGHT - 6}" x2="{x:.1f}" y2="{height:.0f}"/>'
                f'<text class="tick-label" x="{x + 2:.1f}" y="14">{_e(self.axis.tick_label(offset))}</text>'
            )
        return '<g class="axis">' + "".join(parts) + "</g>"

    def _lanes(self) -> tuple[str, float]:
        parts: list[str] = []
        y = float(_AXIS_HEIGHT)
        for lane, rows in self.lanes.items():
            color = self.colors[lane]
            height = _LANE_HEAD + sum(row.height for row in rows)
            parts.append(
                f'<g class="lane" data-bot="{_e(lane)}"><rect class="lane-bg" x="0" y="{y:.1f}" '
                f'width="{_NAME_COLUMN + _BARS + _RIGHT_MARGIN}" height="{height:.1f}" fill="{color}"/>'
                f'<text class="lane-title" x="8" y="{y + 15:.1f}" fill="{color}">{_e(lane)}</text>'
            )
            top = y + _LANE_HEAD
            for row in rows:
                row.top = top
                parts.append(self._row(row, color))
                top += row.height
            parts.append("</g>")
            y += height + _LANE_GAP
        return "".join(parts), y + 4

    def _row(self, row: _Row, color: str) -> str:
        span = row.span
        x1 = self._x(span.start_ns)
        x2 = max(x1 + (8 if span.is_escalation else 3), self._x(span.end_ns))  # instant spans stay visible
        classes = "span" + (" escalation" if span.is_escalation else "") + (" error" if span.is_error else "")
        tip = f"{span.name} · {format_duration(span.end_ns - span.start_ns)} · {span_status(span)}"
        if span.is_escalation:
            tip += " · ESCALATION: " + str(span.attributes.get(sc.WORKLOG_ESCALATION_REASON, ""))
        limit = int((_NAME_COLUMN - 30) / _NAME_CHAR_WIDTH)
        name = span.name if len(span.name) <= limit else span.name[: limit - 1] + "…"
        return (
            f'<g class="{classes}" id="span-{_e(span.span_id)}" data-span-id="{_e(span.span_id)}">'
            f"<title>{_e(tip)}</title>"
            f'<text class="label" x="22" y="{row.centre + 4:.1f}">{_e(name)}</text>'
            f'<rect class="bar" x="{x1:.1f}" y="{row.bar_top:.1f}" width="{x2 - x1:.1f}" height="{_BAR}" rx="3" '
            f'fill="{color}"/>'
            + "".join(self._dot(event, row.centre) for event in span.events)
            + self._labels(row)
            + "</g>"
        )

    def _dot(self, event: EventRecord, y: float) -> str:
        level = event.attributes.get(sc.WORKLOG_LEVEL, event.name)
        message = event.attributes.get(sc.WORKLOG_MESSAGE, event.attributes.get("exception.message", ""))
        alarming = level in ("error", "warning", "uncertainty") or event.name == "exception"
        return (
            f'<circle class="event level-{_e(level)}" cx="{self._x(event.time_ns):.1f}" cy="{y:.1f}" r="4" '
            f'fill="{"#c00" if alarming else "#222"}" stroke="#fff"><title>{_e(f"{level}: {message}")}</title></circle>'
        )

    def _labels(self, row: _Row) -> str:
        # The baseline sits so that the glyphs' box (ascent and descent of any common font) stays in its tier.
        return "".join(
            f'<text class="{label.css}" x="{label.x:.1f}" y="{row.top + label.tier * _TIER + 11:.1f}" '
            f'textLength="{label.width:.1f}" lengthAdjust="spacingAndGlyphs">{_e(label.text)}</text>'
            for label in row.labels
        )

    def _handoffs(self) -> str:
        rows = {row.span.span_id: row for rows in self.lanes.values() for row in rows}
        return "".join(self._handoff(item, rows) for item in self.handoffs)

    def _handoff(self, item: HandoffItem, rows: dict[str, _Row]) -> str:
        source = rows.get(item.span_id)
        if source is None:
            return ""
        sx = max(self._x(source.span.end_ns), self._x(source.span.start_ns) + 3)
        sy = source.centre
        parts = []
        for bot, receiver_id in item.receivers:
            target = rows.get(receiver_id)
            if target is None:
                continue
            tx, ty = self._x(target.span.start_ns), target.centre
            bend = max(40.0, abs(tx - sx) / 2)
            tip = f"handoff {item.from_bot} -> {item.to_bot}: {item.reason or ''}"
            parts.append(
                f'<path class="handoff-link" data-from="{_e(item.from_bot)}" data-to="{_e(bot or item.to_bot)}" '
                f'd="M{sx:.1f},{sy:.1f} C{sx + bend:.1f},{sy:.1f} {tx - bend:.1f},{ty:.1f} {tx:.1f},{ty:.1f}">'
                f"<title>{_e(tip)}</title></path>"
                f'<circle class="handoff-marker handoff-start" cx="{sx:.1f}" cy="{sy:.1f}" r="3.5"/>'
                f'<path class="handoff-marker handoff-end" d="M{tx - 8:.1f},{ty - 4.5:.1f} L{tx:.1f},{ty:.1f} '
                f'L{tx - 8:.1f},{ty + 4.5:.1f} z"/>'
            )
        return "".join(parts)


def lanes_of(spans: Iterable[SpanRecord]) -> list[str]:
    """The lanes in the order the waterfall draws them."""
    return list(dict.fromkeys(span.bot_name or NO_BOT for span in spans))
