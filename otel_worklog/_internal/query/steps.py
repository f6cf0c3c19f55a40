"""One step number per entry of a session, unique and increasing in the order the entries are listed.

Recording counts steps per workspace in each process. A handoff carries the count on: the bot that
receives it in another process goes on from the handoff's step. But the sender goes on counting too,
so after a handoff to another process both sides may use the same numbers. Each such count is an
*epoch* (``worklog.step_epoch`` on its spans; none where the workspace was opened), so a recorded
step is really the pair (epoch, number). Here the pairs become one number per entry:

- walking the session's entries in the order every view lists them (by time), each gets its own
  recorded number if that is above the last number given, else the last number plus one. A session
  that never reused a number keeps exactly the numbers the code was given by ``wl.decision()`` and
  the like; from the first reuse on, later entries move up.
- ``response_to`` names a recorded number; it is read as the latest earlier entry with that number
  in the same epoch, else in any epoch (a reply may quote a step the other process returned), and
  shown as that entry's number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.query.records import SpanRecord

__all__ = ["SessionSteps"]

#: An entry, as a key: (span id, time, recorded step).
_Key = tuple[str, int, int]


class _Numbered(Protocol):
    """A work-log entry as far as numbering goes (a frozen dataclass)."""

    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    @property
    def span_id(self) -> str: ...
    @property
    def time_ns(self) -> int: ...
    @property
    def step(self) -> int | None: ...
    @property
    def response_to(self) -> int | None: ...


_E = TypeVar("_E", bound=_Numbered)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class SessionSteps:
    """The shown step of every entry of one session, and what each ``response_to`` points at."""

    __slots__ = ("_by_span", "_replies", "_shown", "changed")

    def __init__(self, spans: Iterable[SpanRecord]) -> None:
        numbered: list[tuple[int, int, str, str, int | None]] = []  # time, step, span id, epoch, response_to
        for span in spans:
            epoch = str(span.attributes.get(sc.WORKLOG_STEP_EPOCH, ""))
            for event in span.events:
                step = _int(event.attributes.get(sc.WORKLOG_STEP))
                if step is not None:
                    reply = _int(event.attributes.get(sc.WORKLOG_RESPONSE_TO))
                    numbered.append((event.time_ns, step, span.span_id, epoch, reply))
        numbered.sort(key=lambda item: (item[0], item[1]))
        self._shown: dict[_Key, int] = {}
        self._by_span: dict[tuple[str, int], int] = {}  # (span id, recorded) -> shown
        self._replies: dict[_Key, int] = {}
        latest: dict[tuple[str, int], int] = {}  # (epoch, recorded) -> shown, of the latest entry so far
        latest_any: dict[int, int] = {}
        last = 0
        #: True when some entry shows another step or reply than it was recorded with.
        self.changed = False
        for time_ns, step, span_id, epoch, reply in numbered:
            key = (span_id, time_ns, step)
            if reply is not None:
                self._replies[key] = latest.get((epoch, reply), latest_any.get(reply, reply))
                self.changed = self.changed or self._replies[key] != reply
            last = max(step, last + 1)
            self.changed = self.changed or last != step
            self._shown[key] = self._by_span[(span_id, step)] = latest[(epoch, step)] = latest_any[step] = last

    def shown(self, span_id: str, time_ns: int, step: int | None) -> int | None:
        if step is None:
            return None
        return self._shown.get((span_id, time_ns, step), step)

    def reply(self, span_id: str, time_ns: int, step: int | None, response_to: int | None) -> int | None:
        if step is None or response_to is None:
            return response_to
        return self._replies.get((span_id, time_ns, step), response_to)

    def renumber(self, entries: Sequence[_E]) -> list[_E]:
        """``entries`` (work-log ``Entry`` objects) with their shown step and ``response_to``."""
        if not self.changed:
            return list(entries)
        return [
            dataclasses.replace(
                entry,
                step=self.shown(entry.span_id, entry.time_ns, entry.step),
                response_to=self.reply(entry.span_id, entry.time_ns, entry.step, entry.response_to),
            )
            for entry in entries
        ]

    def handoff_step(self, span_id: str, step: int | None) -> int | None:
        """The shown step of the handoff span ``span_id`` recorded at ``step`` (its entry's number)."""
        if step is None:
            return None
        return self._by_span.get((span_id, step), step)
