"""Wrap existing functions in place: ``wl.instrument(module_or_class, "name", ...)``.

This is for code you cannot or would not edit, such as a third-party tool
library. It patches with ``wrapt.wrap_function_wrapper``, never wraps twice and
restores the exact original on ``uninstrument``. A name it cannot replace (a
read-only attribute such as ``__dict__``, a builtin type's method) is skipped
with a warning: instrumenting never raises into the app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final, Literal

import wrapt
from opentelemetry import trace

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.record.decorators import AgentSpec, Spec, ToolSpec, make_wrapper, mark, spec_of
from otel_worklog._internal.record.serialize import safe_repr

logger = logging.getLogger("otel_worklog")

_KINDS: Final = ("tool", "agent")
_ORIGINAL_OWNED: Final = "_self_otel_worklog_original_owned"


def _split(target: Any, name: str) -> tuple[Any, str]:
    """Resolve ``"Class.method"`` paths to (owner, attribute)."""
    owner = target
    *path, attribute = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    return owner, attribute


def _raw_attribute(owner: Any, attribute: str) -> tuple[Any, bool]:
    """The attribute as stored (keeps classmethod/staticmethod objects) and whether ``owner`` holds it itself."""
    namespace = getattr(owner, "__dict__", {})
    if attribute in namespace:
        return namespace[attribute], True
    if isinstance(owner, type):
        for klass in owner.__mro__:
            if attribute in vars(klass):
                return vars(klass)[attribute], False
    return getattr(owner, attribute), False


@dataclass(frozen=True)
class _Options:
    """What ``instrument()`` was asked to record, for a tool or an agent alike."""

    name: str | None = None
    capture_content: bool | None = None
    description: str | None = None
    tool_type: str = sc.TOOL_TYPE_FUNCTION
    role: str | None = None
    triggered_by: str | None = None
    handoff: str | None = None
    new_trace: bool = False

    def spec(self, kind: str, fn: Any, attribute: str, provider: trace.TracerProvider | None) -> Spec:
        if kind == "tool":
            return ToolSpec(
                fn,
                self.name or getattr(fn, "__qualname__", attribute),
                provider,
                capture_content=self.capture_content,
                description=self.description,
                tool_type=self.tool_type,
            )
        return AgentSpec(
            fn,
            self.name or attribute,
            provider,
            role=self.role,
            triggered_by=self.triggered_by,
            handoff=self.handoff,
            new_trace=self.new_trace,
        )

    def unused_by(self, kind: str) -> list[str]:
        """The options given that ``kind`` has no use for (an agent has no tool type, a tool no role)."""
        other = _AGENT_ONLY if kind == "tool" else _TOOL_ONLY
        return [option for option in other if getattr(self, option) != getattr(_DEFAULTS, option)]


_TOOL_ONLY: Final = ("capture_content", "description", "tool_type")
_AGENT_ONLY: Final = ("role", "triggered_by", "handoff", "new_trace")
_DEFAULTS: Final = _Options()


def instrument(
    target: object,
    *names: str,
    kind: Literal["tool", "agent"] = "tool",
    tracer_provider: trace.TracerProvider | None = None,
    name: str | None = None,
    capture_content: bool | None = None,
    description: str | None = None,
    tool_type: str = sc.TOOL_TYPE_FUNCTION,
    role: str | None = None,
    triggered_by: str | None = None,
    handoff: str | None = None,
    new_trace: bool = False,
) -> list[str]:
    """Wrap each named function of ``target`` as a tool (or an agent); returns the names newly wrapped.

    ``names`` are attributes of ``target``, or dotted paths below it (``"Client.fetch"``). The other
    options are those of :func:`tool` (``name``, ``capture_content``, ``description``, ``tool_type``)
    and :func:`agent` (``name``, ``role``, ``triggered_by``, ``handoff``, ``new_trace``).
    """
    if type(kind) is not str or kind not in _KINDS:
        logger.warning("otel_worklog: instrument kind must be one of %s, got %r; nothing wrapped", _KINDS, kind)
        return []
    options = _Options(name, capture_content, description, tool_type, role, triggered_by, handoff, new_trace)
    unused = options.unused_by(kind)
    if unused:
        logger.warning("otel_worklog: instrument(kind=%r) has no use for %s; ignored", kind, ", ".join(unused))
    wrapped_names: list[str] = []
    for path in names:
        try:
            owner, attribute = _split(target, path)
            current, owned = _raw_attribute(owner, attribute)
        except (AttributeError, TypeError):
            logger.warning("otel_worklog: cannot instrument %r: %s has no such attribute", path, safe_repr(target))
            continue
        if isinstance(owner, str):  # wrapt would read it as a module's name, and patch that module
            logger.warning("otel_worklog: cannot instrument %r: %s is a string", path, safe_repr(owner))
            continue
        try:
            if spec_of(current) is not None:
                logger.debug("otel_worklog: %s is already instrumented", path)
                continue
            fn = getattr(current, "__func__", current)
            spec = options.spec(kind, fn, attribute, tracer_provider)
            try:
                proxy = wrapt.wrap_function_wrapper(owner, attribute, make_wrapper(spec, current))
            except (AttributeError, TypeError) as exc:  # a read-only attribute (``__dict__``, a builtin's method)
                logger.warning("otel_worklog: cannot instrument %r of %s: %s", path, safe_repr(target), exc)
                continue
            mark(proxy, spec)
            setattr(proxy, _ORIGINAL_OWNED, owned)
            wrapped_names.append(path)
        except Exception:
            log_internal_error()
    return wrapped_names


def uninstrument(target: Any, *names: str) -> list[str]:
    """Put back the originals that :func:`instrument` replaced; returns the names restored."""
    restored: list[str] = []
    for name in names:
        try:
            owner, attribute = _split(target, name)
            current, _ = _raw_attribute(owner, attribute)
        except (AttributeError, TypeError):
            logger.warning("otel_worklog: cannot uninstrument %r: %s has no such attribute", name, safe_repr(target))
            continue
        try:
            if spec_of(current) is None or not hasattr(current, "__wrapped__"):
                continue
            if getattr(current, _ORIGINAL_OWNED, True):
                setattr(owner, attribute, current.__wrapped__)
            else:
                delattr(owner, attribute)
            restored.append(name)
        except Exception:
            log_internal_error()
    return restored
