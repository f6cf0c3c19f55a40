"""Attribute, event and span names written by otel_worklog (see the README's table)."""

from otel_worklog._internal.semconv import *  # noqa: F403
from otel_worklog._internal.semconv import __all__ as _all

__all__ = list(_all)
