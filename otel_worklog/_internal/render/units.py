"""Durations and times in the unit that suits them, for the HTML view and the reply helpers."""

from __future__ import annotations

__all__ = ["format_duration", "unit_of"]

_UNITS = ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns"))


def unit_of(ns: float) -> tuple[float, str]:
    """The largest unit that ``ns`` is at least one of (ns for anything shorter)."""
    return next(((size, name) for size, name in _UNITS if ns >= size), _UNITS[-1])


def format_duration(ns: float) -> str:
    """A duration in the unit that suits it, with three significant digits: ``840 µs``, ``1.25 ms``, ``12.5 s``."""
    size, unit = unit_of(ns)
    value = ns / size
    decimals = 0 if value >= 100 else 1 if value >= 10 else 2
    if unit == "ns":
        decimals = 0
    return f"{value:.{decimals}f} {unit}"
