"""Durations, times and counts as every view shows them: one format for each, whatever the command.

A duration takes the unit that suits it (``840 µs``, ``1.25 ms``, ``12.5 s``, ``10.0 min``); two
durations compared side by side share one unit. A time is local with its zone shown (``+01:00``),
or UTC when asked (``--utc``); a count agrees with its noun (``1 tool call``, ``2 tool calls``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from otel_worklog._internal.query.records import SpanRecord

__all__ = [
    "Clock",
    "Display",
    "days_text",
    "format_duration",
    "format_durations_alike",
    "format_seconds",
    "plural",
    "span_status",
    "unit_of",
]

_UNITS: Final = ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns"))
#: Above these, seconds read better as minutes, and minutes as hours.
_LONG: Final = ((7_200e9, 3_600e9, "h"), (120e9, 60e9, "min"))
_FORMAT: Final = "%Y-%m-%d %H:%M:%S"


def unit_of(ns: float) -> tuple[float, str]:
    """The largest unit that ``ns`` is at least one of (ns for anything shorter)."""
    return next(((size, name) for size, name in _UNITS if ns >= size), _UNITS[-1])


def _unit(ns: float) -> tuple[float, str]:
    """:func:`unit_of`, with minutes and hours for long durations."""
    return next(((size, name) for above, size, name in _LONG if ns >= above), None) or unit_of(ns)


def _digits(value: float) -> str:
    """``value`` with three significant digits (no fraction from 100 on)."""
    decimals = 0 if value >= 100 else 1 if value >= 10 else 2 if value >= 1 else 3
    return f"{value:.{decimals}f}"


def format_duration(ns: float) -> str:
    """A duration in the unit that suits it, with three significant digits: ``840 µs``, ``1.25 ms``, ``12.5 s``."""
    size, unit = _unit(max(0.0, ns))
    value = max(0.0, ns) / size
    return f"{value:.0f} ns" if unit == "ns" else f"{_digits(value)} {unit}"


def format_seconds(seconds: float) -> str:
    """:func:`format_duration` of a number of seconds."""
    return format_duration(seconds * 1e9)


def format_durations_alike(values_ns: Sequence[float]) -> list[str]:
    """Durations to compare, in one unit: the shortest's, but seconds when any lasts a second or more.

    ``600 s`` and ``0.294 s``, ``10.0 min`` and ``3.33 min``: never ``10.0 min`` against ``294 ms``.
    """
    values = [max(0.0, v) for v in values_ns]
    shortest = min((v for v in values if v > 0), default=0.0)
    size, unit = _unit(shortest)
    if max(values, default=0.0) >= 1e9 and size < 1e9:
        size, unit = 1e9, "s"
    if unit == "ns":
        return [f"{v:.0f} ns" for v in values]
    return [f"{_digits(v / size) if v >= size or v == 0 else _fraction(v / size)} {unit}" for v in values]


def _fraction(value: float) -> str:
    """A value under one with three significant digits, never in exponent form: ``0.294``, ``0.00490``."""
    decimals = next((d for d, floor in ((3, 0.1), (4, 0.01), (5, 0.001)) if value >= floor), 6)
    return f"{value:.{decimals}f}"


def days_text(days: float) -> str:
    """``1 day``, ``7 days``, ``0.5 days``: a window given in days (``--days``)."""
    return f"{days:g} day" if days == 1 else f"{days:g} days"


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 tool call``, ``2 tool calls``; ``nouns`` for an irregular plural (``entry``, ``entries``)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"


class Clock:
    """How times are shown: local time with its zone, or UTC (``--utc``)."""

    def __init__(self, *, utc: bool = False) -> None:
        self.utc = utc

    def moment(self, time_ns: int) -> _dt.datetime:
        moment = _dt.datetime.fromtimestamp(time_ns / 1e9, tz=_dt.UTC)
        return moment if self.utc else moment.astimezone()

    def zone(self, time_ns: int) -> str:
        """``UTC``, or the local offset at that time (``+01:00``)."""
        if self.utc:
            return "UTC"
        offset = self.moment(time_ns).strftime("%z")
        return f"{offset[:3]}:{offset[3:]}"

    def bare(self, time_ns: int) -> str:
        """``2026-01-05 09:30:00``, without the zone (for a column whose header names it)."""
        return self.moment(time_ns).strftime(_FORMAT)

    def time(self, time_ns: int) -> str:
        """``2026-01-05 09:30:00 +01:00``, or ``2026-01-05 08:30:00 UTC``."""
        return f"{self.bare(time_ns)} {self.zone(time_ns)}"

    def day(self, time_ns: int) -> str:
        """``2026-01-05``, in this clock's zone."""
        return self.moment(time_ns).strftime("%Y-%m-%d")

    def common_zone(self, times_ns: Iterable[int]) -> str | None:
        """The one zone of all ``times_ns`` (None when a change of daylight saving time splits them)."""
        zones = {self.zone(t) for t in times_ns}
        return zones.pop() if len(zones) == 1 else None

    def column(self, title: str, times_ns: Sequence[int]) -> tuple[str, list[str]]:
        """A time column: the header names the zone once when every row shares it, else each cell does."""
        zone = self.common_zone(times_ns)
        if zone is not None:
            return f"{title} ({zone})", [self.bare(t) for t in times_ns]
        return title, [self.time(t) for t in times_ns]


@dataclass(frozen=True)
class Display:
    """How times and trace ids are shown: the clock (local or ``--utc``) and each trace id's shortest prefix."""

    clock: Clock = field(default_factory=Clock)
    ids: Mapping[str, str] = field(default_factory=dict)

    def trace(self, trace_id: str) -> str:
        return self.ids.get(trace_id, trace_id)


def span_status(span: SpanRecord) -> str:
    """What a person reads as the span's status: ERROR when it failed, else OK (an UNSET status is a success)."""
    return "ERROR" if span.is_error else "OK"
