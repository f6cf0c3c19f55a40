"""``@wl.tool`` and ``@wl.agent``: spans around functions of all four kinds.

A wrapper is chosen once, when the function is decorated, from its kind: plain,
coroutine, generator or async generator. All share one wrapt signature,
``(wrapped, instance, args, kwargs)``, so methods, classmethods and
staticmethods work in either decorator order.

Generators never keep a span current while suspended: the span is attached
only around each step of the inner generator and detached before the value is
handed out, and it ends on exhaustion, error, ``close()`` or an early ``break``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Final, TypeVar, overload

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.record.current_span import current_span
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope, current_scope, instrumentation_suppressed
from otel_worklog._internal.record.serialize import clean_text, safe_repr
from otel_worklog._internal.record.spans import record_error
from otel_worklog._internal.record.state import STATE, active_tracer

logger = logging.getLogger("otel_worklog")

F = TypeVar("F", bound=Callable[..., Any])

#: Items of a generator tool kept for ``gen_ai.tool.call.result``.
_MAX_RESULT_ITEMS: Final = 100
_MARKER: Final = "_self_otel_worklog"


class _Call:
    """One traced call: its span and the token that made it current."""

    __slots__ = ("items", "span", "token")

    def __init__(self, span: trace.Span, token: object | None) -> None:
        self.span = span
        self.token = token
        self.items: list[Any] | None = None


class _Spec:
    """What a decorated function records; subclasses say which span and attributes."""

    __slots__ = ("defaults", "name", "positional", "provider", "varargs")

    def __init__(self, fn: Callable[..., Any], name: str | None, provider: trace.TracerProvider | None) -> None:
        chosen = name or getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or "anonymous"
        self.name = clean_text(chosen) if isinstance(chosen, str) else safe_repr(chosen)
        self.provider = provider
        self.positional, self.varargs, self.defaults = _parameter_names(fn)

    def tracer(self) -> trace.Tracer | None:
        tracer = active_tracer(self.provider)
        if tracer is None or instrumentation_suppressed():
            return None
        return tracer

    def start(self, tracer: trace.Tracer, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Context:
        """Start the span; returns the context to run the call in."""
        raise NotImplementedError

    def finish(self, call: _Call, result: Any) -> None:
        call.span.end()

    def fail(self, call: _Call, exc: BaseException) -> None:
        if isinstance(exc, Exception):
            record_error(call.span, exc)
        call.span.end()

    def arguments(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by name, without ``self``/``cls``: built from names found at decoration time."""
        names = self.positional[1:] if instance is not None and self.positional else self.positional
        bound = dict(zip(names, args, strict=False))
        if len(args) > len(names):
            bound[self.varargs or "args"] = list(args[len(names) :])
        if kwargs:
            bound.update(kwargs)
        for name, default in self.defaults:
            if name not in bound:
                bound[name] = default
        return bound


def _parameter_names(
    fn: Callable[..., Any],
) -> tuple[tuple[str, ...], str | None, tuple[tuple[str, Any], ...]]:
    """Positional parameter names, the ``*args`` name and (name, default) pairs, read once at decoration."""
    target = getattr(fn, "__func__", fn)
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return (), None, ()
    positional = tuple(p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))
    varargs = next((p.name for p in params if p.kind is p.VAR_POSITIONAL), None)
    defaults = tuple((p.name, p.default) for p in params if p.default is not p.empty)
    return positional, varargs, defaults


class ToolSpec(_Spec):
    __slots__ = ("capture", "description", "span_name", "tool_type")

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None,
        provider: trace.TracerProvider | None,
        capture_content: bool | None,
        description: str | None,
        tool_type: str | None,
    ) -> None:
        super().__init__(fn, name, provider)
        self.capture = capture_content
        self.description = description
        self.tool_type = tool_type
        self.span_name = sc.SPAN_EXECUTE_TOOL.format(name=self.name)

    def _capturing(self) -> bool:
        return self.capture if self.capture is not None else STATE.config.content.capture_content

    def start(self, tracer: trace.Tracer, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Context:
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: self.name,
        }
        if self.tool_type:
            attributes[sc.GEN_AI_TOOL_TYPE] = self.tool_type
        if self.description:
            attributes[sc.GEN_AI_TOOL_DESCRIPTION] = self.description
        if self._capturing():
            cleaned = STATE.config.content.json(self.arguments(instance, args, kwargs))
            attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = cleaned.text
            if cleaned.redacted:
                attributes[sc.WORKLOG_REDACTED_COUNT] = cleaned.redacted
            if cleaned.truncated:
                attributes[sc.WORKLOG_TRUNCATED] = True
        ctx = otel_context.get_current()
        span = tracer.start_span(self.span_name, context=ctx, attributes=attributes)
        return trace.set_span_in_context(span, ctx)

    def finish(self, call: _Call, result: Any) -> None:
        span = call.span
        try:
            if self._capturing():
                value = call.items if call.items is not None else result
                cleaned = STATE.config.content.json(value)
                attributes: dict[str, Any] = {
                    sc.GEN_AI_TOOL_CALL_RESULT: cleaned.text,
                    sc.WORKLOG_TOOL_STATUS: sc.TOOL_STATUS_SUCCESS,
                }
                if cleaned.redacted:
                    previous = getattr(span, "attributes", {}).get(sc.WORKLOG_REDACTED_COUNT, 0)
                    attributes[sc.WORKLOG_REDACTED_COUNT] = previous + cleaned.redacted
                if cleaned.truncated:
                    attributes[sc.WORKLOG_TRUNCATED] = True
                span.set_attributes(attributes)
            else:
                span.set_attribute(sc.WORKLOG_TOOL_STATUS, sc.TOOL_STATUS_SUCCESS)
        finally:
            span.end()

    def fail(self, call: _Call, exc: BaseException) -> None:
        cancelled = isinstance(exc, asyncio.CancelledError | GeneratorExit | KeyboardInterrupt)
        call.span.set_attribute(sc.WORKLOG_TOOL_STATUS, sc.TOOL_STATUS_CANCELLED if cancelled else sc.TOOL_STATUS_ERROR)
        super().fail(call, exc)


class AgentSpec(_Spec):
    __slots__ = ("role", "span_name")

    def __init__(
        self, fn: Callable[..., Any], name: str | None, provider: trace.TracerProvider | None, role: str | None
    ) -> None:
        super().__init__(fn, name, provider)
        self.role = clean_text(role) if isinstance(role, str) else None
        self.span_name = sc.SPAN_INVOKE_AGENT.format(name=self.name)

    def start(self, tracer: trace.Tracer, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Context:
        parent = otel_context.get_current()
        outer = current_scope(parent)
        attributes: dict[str, Any] = {
            sc.BOT_NAME: self.name,
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
            sc.GEN_AI_AGENT_NAME: self.name,
        }
        if self.role:
            attributes[sc.BOT_ROLE] = self.role
        if outer is not None and outer.bot_name and outer.bot_name != self.name:
            attributes[sc.BOT_TRIGGERED_BY] = outer.bot_name
        scope = Scope.make(outer.workspace if outer else None, self.name, self.role)
        ctx = otel_context.set_value(SCOPE_KEY, scope, parent)
        span = tracer.start_span(self.span_name, context=ctx, attributes=attributes)
        return trace.set_span_in_context(span, ctx)


def _begin(spec: _Spec, tracer: trace.Tracer, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Start a span for one call; None when an internal fault means "call through untraced"."""
    try:
        ctx = spec.start(tracer, instance, args, kwargs)
    except Exception:
        log_internal_error()
        return None
    return ctx


def _end(spec: _Spec, call: _Call, result: Any = None, exc: BaseException | None = None) -> None:
    try:
        if exc is None:
            spec.finish(call, result)
        else:
            spec.fail(call, exc)
    except Exception:
        log_internal_error()


def _sync_wrapper(spec: _Spec) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        tracer = spec.tracer()
        if tracer is None:
            return wrapped(*args, **kwargs)
        ctx = _begin(spec, tracer, instance, args, kwargs)
        if ctx is None:
            return wrapped(*args, **kwargs)
        call = _Call(current_span(ctx), otel_context.attach(ctx))
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(call.token)  # type: ignore[arg-type]
            _end(spec, call, exc=exc)
            raise
        otel_context.detach(call.token)  # type: ignore[arg-type]
        _end(spec, call, result)
        return result

    return wrapper


def _coroutine_wrapper(spec: _Spec) -> Callable[..., Any]:
    async def run(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        tracer = spec.tracer()
        if tracer is None:
            return await wrapped(*args, **kwargs)
        ctx = _begin(spec, tracer, instance, args, kwargs)
        if ctx is None:
            return await wrapped(*args, **kwargs)
        call = _Call(current_span(ctx), otel_context.attach(ctx))
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(call.token)  # type: ignore[arg-type]
            _end(spec, call, exc=exc)
            raise
        otel_context.detach(call.token)  # type: ignore[arg-type]
        _end(spec, call, result)
        return result

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return run(wrapped, instance, args, kwargs)

    return wrapper


def _keep_item(call: _Call, item: Any, capture: bool) -> None:
    if capture and call.items is not None and len(call.items) < _MAX_RESULT_ITEMS:
        call.items.append(item)


def _generator_wrapper(spec: _Spec) -> Callable[..., Any]:
    def run(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Context
    ) -> Generator[Any, Any, Any]:
        tracer = spec.tracer()
        token = otel_context.attach(parent)
        try:
            ctx = _begin(spec, tracer, instance, args, kwargs) if tracer is not None else None
            inner = wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)
        if ctx is None:
            return (yield from inner)
        call = _Call(current_span(ctx), None)
        capture = isinstance(spec, ToolSpec) and spec._capturing()
        call.items = [] if capture else None
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = otel_context.attach(ctx)
            try:
                item = inner.throw(thrown) if thrown is not None else inner.send(sent)
            except StopIteration as stop:
                otel_context.detach(token)
                _end(spec, call, stop.value)
                return stop.value
            except BaseException as exc:
                otel_context.detach(token)
                _end(spec, call, exc=exc)
                raise
            otel_context.detach(token)
            _keep_item(call, item, capture)
            thrown = None
            try:
                sent = yield item
            except GeneratorExit as exc:
                token = otel_context.attach(ctx)
                try:
                    inner.close()
                finally:
                    otel_context.detach(token)
                    _end(spec, call, exc=exc)
                raise
            except BaseException as exc:
                thrown = exc

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # The span starts when iteration starts, under the context of the call site.
        return run(wrapped, instance, args, kwargs, otel_context.get_current())

    return wrapper


def _async_generator_wrapper(spec: _Spec) -> Callable[..., Any]:
    async def run(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Context
    ) -> AsyncGenerator[Any, Any]:
        tracer = spec.tracer()
        token = otel_context.attach(parent)
        try:
            ctx = _begin(spec, tracer, instance, args, kwargs) if tracer is not None else None
            inner = wrapped(*args, **kwargs)
        finally:
            otel_context.detach(token)
        if ctx is None:
            async for item in inner:
                yield item
            return
        call = _Call(current_span(ctx), None)
        capture = isinstance(spec, ToolSpec) and spec._capturing()
        call.items = [] if capture else None
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            token = otel_context.attach(ctx)
            try:
                item = await (inner.athrow(thrown) if thrown is not None else inner.asend(sent))
            except StopAsyncIteration:
                otel_context.detach(token)
                _end(spec, call, None)
                return
            except BaseException as exc:
                otel_context.detach(token)
                _end(spec, call, exc=exc)
                raise
            otel_context.detach(token)
            _keep_item(call, item, capture)
            thrown = None
            try:
                sent = yield item
            except GeneratorExit as exc:
                token = otel_context.attach(ctx)
                try:
                    await inner.aclose()
                finally:
                    otel_context.detach(token)
                    _end(spec, call, exc=exc)
                raise
            except BaseException as exc:
                thrown = exc

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return run(wrapped, instance, args, kwargs, otel_context.get_current())

    return wrapper


def function_kind(fn: Any) -> str:
    """``sync``, ``coroutine``, ``generator`` or ``async_generator``, seeing through class/staticmethod."""
    target = getattr(fn, "__func__", fn)
    if inspect.isasyncgenfunction(target):
        return "async_generator"
    if inspect.iscoroutinefunction(target):
        return "coroutine"
    if inspect.isgeneratorfunction(target):
        return "generator"
    return "sync"


_WRAPPERS: Final = {
    "sync": _sync_wrapper,
    "coroutine": _coroutine_wrapper,
    "generator": _generator_wrapper,
    "async_generator": _async_generator_wrapper,
}


def make_wrapper(spec: _Spec, fn: Any) -> Callable[..., Any]:
    """The ``(wrapped, instance, args, kwargs)`` wrapper for ``fn``; callers mark the proxy that holds it."""
    return _WRAPPERS[function_kind(fn)](spec)


def _decorate(fn: Any, spec: _Spec) -> Any:
    proxy = wrapt.FunctionWrapper(fn, make_wrapper(spec, fn))
    setattr(proxy, _MARKER, spec)
    return proxy


@overload
def tool(wrapped: F) -> F: ...
@overload
def tool(
    wrapped: None = None,
    *,
    name: str | None = None,
    capture_content: bool | None = None,
    description: str | None = None,
    tool_type: str | None = "function",
    tracer_provider: trace.TracerProvider | None = None,
) -> Callable[[F], F]: ...
def tool(
    wrapped: Any = None,
    *,
    name: str | None = None,
    capture_content: bool | None = None,
    description: str | None = None,
    tool_type: str | None = "function",
    tracer_provider: trace.TracerProvider | None = None,
) -> Any:
    """Trace each call of a tool as ``execute_tool {name}`` with its arguments, result and status."""
    if wrapped is None:
        return functools.partial(
            tool,
            name=name,
            capture_content=capture_content,
            description=description,
            tool_type=tool_type,
            tracer_provider=tracer_provider,
        )
    return _decorate(wrapped, ToolSpec(wrapped, name, tracer_provider, capture_content, description, tool_type))


@overload
def agent(wrapped: F) -> F: ...
@overload
def agent(
    wrapped: None = None,
    *,
    name: str | None = None,
    role: str | None = None,
    tracer_provider: trace.TracerProvider | None = None,
) -> Callable[[F], F]: ...
def agent(
    wrapped: Any = None,
    *,
    name: str | None = None,
    role: str | None = None,
    tracer_provider: trace.TracerProvider | None = None,
) -> Any:
    """Trace each call as the bot span ``invoke_agent {name}`` (the decorator form of ``wl.bot``)."""
    if wrapped is None:
        return functools.partial(agent, name=name, role=role, tracer_provider=tracer_provider)
    return _decorate(wrapped, AgentSpec(wrapped, name, tracer_provider, role))
