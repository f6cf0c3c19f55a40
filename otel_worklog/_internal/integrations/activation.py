"""A context made current in one framework callback and put back in another.

Frameworks report an agent turn or a tool call as two callbacks, and other instrumentations attach
their own contexts in the same callbacks, in whatever order they were registered. A plain
``attach``/``detach`` pair then restores out of order and leaves an ended span current. An
:class:`Activation` restores only while its own context is still the current one (a neighbour that
already put an earlier context back is left alone), never resets a token made in another context,
and restores at most once.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.context import Context

__all__ = ["Activation"]


class Activation:
    """``ctx`` made current until :meth:`restore`."""

    __slots__ = ("_ctx", "_parent", "_token")

    def __init__(self, ctx: Context) -> None:
        self._parent = otel_context.get_current()
        self._ctx = ctx
        self._token: Any = otel_context.attach(ctx)

    @property
    def context(self) -> Context:
        return self._ctx

    def restore(self) -> None:
        """Put back the context that was current before, if ours is still current here."""
        token, self._token = self._token, None
        if token is None or otel_context.get_current() is not self._ctx:
            return
        var = getattr(token, "var", None)
        if not isinstance(var, ContextVar):  # another runtime context implementation: its own detach
            otel_context.detach(token)
            return
        try:
            var.reset(token)
        except (ValueError, RuntimeError):
            # Ours is current in a context copied from the one that attached it (a task started
            # inside the span): put the parent back here, without touching the other context.
            otel_context.attach(self._parent)
