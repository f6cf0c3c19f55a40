"""Finished spans as plain data, and the interface every trace reader implements.

The CLI, the HTML view, the analytics and the response helpers read traces
through :class:`TraceReader`, never through a storage engine directly, so each
of them works the same on the local SQLite store and on Grafana Tempo.
Ids are lower-case hex everywhere in this module (32 characters for a trace,
16 for a span), whatever the source's own encoding.

The span, event and link records are read-only by convention, not ``frozen``: analytics builds
hundreds of thousands of them, and a frozen dataclass sets each field through ``object.__setattr__``,
far slower than a plain slots ``__init__``. They hold dicts, so they were never hashable.
A span's kind is classified once, the first time it is asked for (or given by the reader), and kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, runtime_checkable

from opentelemetry.semconv.attributes.exception_attributes import EXCEPTION_TYPE

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.span_kinds import ESCALATION, Kind, classify, is_failure
from otel_worklog._internal.status import Outcome, status_of

_EXCEPTION_EVENT: Final = "exception"


@dataclass(slots=True)
class EventRecord:
    name: str
    time_ns: int
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_entry(self) -> bool:
        """True for a work-log entry (``worklog.<level>``)."""
        return sc.WORKLOG_LEVEL in self.attributes


@dataclass(slots=True)
class LinkRecord:
    trace_id: str
    span_id: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SpanRecord:
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str  # "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"
    start_ns: int
    end_ns: int
    status_code: str  # "UNSET", "OK", "ERROR"
    status_message: str = ""
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: tuple[EventRecord, ...] = ()
    links: tuple[LinkRecord, ...] = ()
    resource: Mapping[str, Any] = field(default_factory=dict)
    scope: str = ""
    #: The span's kind once classified (see :attr:`part`); a reader that knows it may set it.
    known_part: Kind | None = field(default=None, repr=False, compare=False)

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6

    @property
    def workspace_id(self) -> str | None:
        value = self.attributes.get(sc.WORKSPACE_ID)
        return value if isinstance(value, str) else None

    @property
    def bot_name(self) -> str | None:
        value = self.attributes.get(sc.BOT_NAME)
        return value if isinstance(value, str) else None

    @property
    def part(self) -> Kind:
        """The part the span plays in a work log (bot, tool, escalation...), whoever recorded it."""
        kind = self.known_part
        if kind is None:
            kind = self.known_part = classify(self.name, self.attributes)
        return kind

    @property
    def is_escalation(self) -> bool:
        return self.part is ESCALATION

    @property
    def is_error(self) -> bool:
        """The span's status is ERROR (whether or not that counts as a failure: see :attr:`is_failure`)."""
        return self.status_code == "ERROR"

    @property
    def exception_type(self) -> str | None:
        """The ``exception.type`` of the last exception the span recorded."""
        for event in reversed(self.events):
            if event.name == _EXCEPTION_EVENT:
                found = event.attributes.get(EXCEPTION_TYPE)
                if isinstance(found, str):
                    return found
        return None

    @property
    def is_failure(self) -> bool:
        """The span failed, and counts as one failure: not a copy of another span, not failed by framework
        control flow (``span_kinds.is_failure``, as the store counts at ingest)."""
        return self.status_code == "ERROR" and is_failure(True, self.attributes, self.exception_type)


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One workspace session (one trace), as ``otel-worklog logs`` lists it."""

    trace_id: str
    workspace_id: str | None
    workspace_type: str | None
    query: str | None
    bots: tuple[str, ...]
    start_ns: int
    end_ns: int
    escalations: int
    #: Spans that failed, of any kind (``failed_bots`` of them bot or workspace spans).
    errors: int
    span_count: int
    failed_bots: int = 0
    error_entries: int = 0
    resolved_escalations: int = 0

    @property
    def duration_ms(self) -> float:
        return max(0, self.end_ns - self.start_ns) / 1e6

    @property
    def outcome(self) -> Outcome:
        return Outcome(
            escalations=self.escalations,
            resolved_escalations=self.resolved_escalations,
            failed_bots=self.failed_bots,
            error_entries=self.error_entries,
            failed_steps=max(0, self.errors - self.failed_bots),
        )

    @property
    def status(self) -> str:
        """The session's status by the one rule (:func:`~otel_worklog._internal.status.status_of`)."""
        return status_of(self.outcome)


@dataclass(frozen=True, slots=True)
class EntryHit:
    """What a text search matched, with the span it sits on: a work-log entry, or a step that failed.

    For an entry, ``event`` is the entry. For a failed step (a tool's error, an exception), ``error``
    is what went wrong (``TimeoutError: write to ... timed out``) and ``event`` the exception event
    (or, without one, an event named ``error`` at the span's end).
    """

    trace_id: str
    span_id: str
    span_name: str
    workspace_id: str | None
    bot_name: str | None
    event: EventRecord
    error: str | None = None

    @property
    def is_error(self) -> bool:
        return self.error is not None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The matches shown (newest first, at most the limit asked for) and how many there are in all."""

    hits: list[EntryHit]
    total: int


@runtime_checkable
class TraceReader(Protocol):
    """What every trace source offers. Times are Unix nanoseconds, newest first."""

    def sessions(
        self,
        *,
        workspace: str | None = None,
        bot: str | None = None,
        limit: int = 20,
        since_ns: int | None = None,
        until_ns: int | None = None,
    ) -> list[SessionSummary]: ...

    def latest_trace_id(self, *, workspace: str | None = None, bot: str | None = None) -> str | None: ...

    def trace(self, trace_id: str) -> list[SpanRecord]:
        """Every span of the trace, oldest first; raises :class:`TraceNotFound`."""
        ...

    def search(
        self, text: str, *, workspace: str | None = None, bot: str | None = None, limit: int = 50
    ) -> SearchResult:
        """Entries, tool errors and exceptions matching ``text`` (:mod:`.matching`), newest first."""
        ...

    def search_entries(
        self, text: str, *, workspace: str | None = None, bot: str | None = None, limit: int = 50
    ) -> list[EntryHit]:
        """The hits of :meth:`search`."""
        ...

    def workspaces(self) -> list[str]:
        """Every workspace with a session, sorted."""
        ...

    def resolutions(self, trace_ids: Iterable[str]) -> dict[str, str]:
        """The resolution of each resolved escalation in these traces, by the escalation's span id."""
        ...

    def short_trace_ids(self, trace_ids: Iterable[str], *, minimum: int = 8) -> dict[str, str]:
        """The shortest prefix (at least ``minimum`` characters) that names each trace alone."""
        ...

    def escalations(
        self, *, workspace: str | None = None, bot: str | None = None, limit: int = 50, since_ns: int | None = None
    ) -> list[SpanRecord]: ...

    def iter_spans(
        self, *, since_ns: int | None = None, until_ns: int | None = None, workspace: str | None = None
    ) -> Iterator[SpanRecord]:
        """Every span in the window, for analytics; grouped by trace, traces oldest first."""
        ...

    def close(self) -> None: ...
