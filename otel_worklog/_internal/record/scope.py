"""Who is working where: the workspace and bot scope carried in the OTel context.

One context key holds one immutable :class:`Scope`. Entering a workspace or a
bot attaches a new context (one token, one restore), so nothing can leak into
the code that runs after the block, whatever way the block exits.

A :class:`WorkspaceState` also counts the session's steps and knows its open
workspace and bot spans (:class:`LiveSpans`), so that ``wl.format_response()``
can read the work still in progress: open spans are not exported yet.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from otel_worklog._internal import semconv as sc

SCOPE_KEY: Final = otel_context.create_key("otel_worklog.scope")
_SUPPRESS_KEY: Final = otel_context._SUPPRESS_INSTRUMENTATION_KEY


class LiveSpans:
    """The workspace and bot spans of one workspace that have started and not yet ended, in this process.

    Written when such a span starts (never per entry); spans that have ended since are dropped then.
    No lock: each step is one dict operation (atomic), and readers work on a copy, so a workspace
    holds nothing a fork could inherit held.
    """

    __slots__ = ("_spans",)

    def __init__(self) -> None:
        self._spans: dict[int, trace.Span] = {}

    def add(self, span: trace.Span) -> None:
        if not span.is_recording():
            return
        spans = self._spans
        for key, known in spans.copy().items():
            if not known.is_recording():
                spans.pop(key, None)
        spans[id(span)] = span

    def open_spans(self) -> list[trace.Span]:
        return [span for span in self._spans.copy().values() if span.is_recording()]


def new_epoch() -> str:
    """A fresh id for a count of steps that continues another one (see ``WorkspaceState.epoch``)."""
    return os.urandom(8).hex()


@dataclass(frozen=True, slots=True, eq=False)
class WorkspaceState:
    """One workspace session; shared by every bot working in it in this process."""

    id: str
    type: str
    participants: tuple[str, ...] = ()
    coordinator: str | None = None
    steps: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: Which count ``steps`` is: "" where the workspace was opened; a new id where a handoff's receiver
    #: continues the count without the sender's state (another process). Two counts may reuse a number;
    #: the read model tells them apart by it and numbers the session's steps once (query/steps.py).
    epoch: str = ""
    live: LiveSpans = field(default_factory=LiveSpans)

    def next_step(self) -> int:
        # itertools.count is advanced in C under the GIL: safe across threads.
        return next(self.steps)


@dataclass(frozen=True, slots=True, eq=False)
class Scope:
    workspace: WorkspaceState | None
    bot_name: str | None = None
    bot_role: str | None = None
    #: Attributes stamped on every span started in this scope.
    stamp: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def make(workspace: WorkspaceState | None, bot_name: str | None, bot_role: str | None) -> Scope:
        stamp: dict[str, Any] = {}
        if workspace is not None:
            stamp[sc.WORKSPACE_ID] = workspace.id
            if workspace.epoch:
                stamp[sc.WORKLOG_STEP_EPOCH] = workspace.epoch
        if bot_name is not None:
            stamp[sc.BOT_NAME] = bot_name
        return Scope(workspace, bot_name, bot_role, stamp)


#: Steps of entries made outside any workspace.
_GLOBAL_STEPS = itertools.count(1)


def current_scope(ctx: Context | None = None) -> Scope | None:
    value = otel_context.get_value(SCOPE_KEY, ctx)
    return value if isinstance(value, Scope) else None


def next_step(scope: Scope | None) -> int:
    if scope is not None and scope.workspace is not None:
        return scope.workspace.next_step()
    return next(_GLOBAL_STEPS)


def instrumentation_suppressed() -> bool:
    """True inside ``suppress_instrumentation`` and while the SDK exports."""
    return bool(otel_context.get_value(_SUPPRESS_KEY))
