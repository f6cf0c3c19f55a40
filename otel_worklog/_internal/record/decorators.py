"""``@wl.tool`` and ``@wl.agent``: spans around functions of all four kinds.

A wrapper is chosen once, when the function is decorated, from its kind: plain,
coroutine, generator or async generator (a callable object counts by its
``__call__``). All share one wrapt signature, ``(wrapped, instance, args, kwargs)``,
so methods, classmethods and staticmethods work in either decorator order, and one
begin/end path: :func:`_begin` starts the span, and a :class:`_Call` makes it
current for one step of the call (``call.run(...)``, or ``with call:`` around an
``await``) and ends it once.

Generators never keep a span current while suspended: the span is current only
around each step of the inner generator, and it ends on exhaustion, error,
``close()`` or an early ``break``. A plain function that returns an awaitable is
traced until the awaitable completes.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from types import TracebackType
from typing import Any, Final, TypeVar, overload

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.record.ledger import EventLedger
from otel_worklog._internal.record.scope import current_scope, instrumentation_suppressed
from otel_worklog._internal.record.serialize import clean_text, safe_repr
from otel_worklog._internal.record.spans import open_bot_span, record_error
from otel_worklog._internal.record.state import STATE, active_tracer

logger = logging.getLogger("otel_worklog")

F = TypeVar("F", bound=Callable[..., Any])

#: Items of a generator tool kept for ``gen_ai.tool.call.result``.
_MAX_RESULT_ITEMS: Final = 100
_MARKER: Final = "_self_otel_worklog"
#: Top-level packages of agent frameworks whose tool objects the framework calls itself.
_FRAMEWORK_PACKAGES: Final = frozenset(
    {
        "agents",
        "autogen_agentchat",
        "autogen_core",
        "crewai",
        "haystack",
        "langchain",
        "langchain_community",
        "langchain_core",
        "langgraph",
        "llama_index",
        "pydantic_ai",
        "smolagents",
    }
)
_warned_framework_types: set[type] = set()
#: Result types that are never awaitable: most tools return one, and the ``Awaitable`` check is an ABC's.
_NO_KWARGS: Final[dict[str, Any]] = {}
_ENDED_CONTEXT: Final = Context()
_NEVER_AWAITABLE: Final = frozenset({type(None), bool, int, float, str, bytes, list, tuple, dict, set})


class Spec:
    """What a decorated function records; subclasses say which span and attributes."""

    __slots__ = ("defaults", "name", "positional", "provider", "span_name", "varargs")

    def __init__(self, fn: Callable[..., Any], name: str | None, provider: trace.TracerProvider | None) -> None:
        chosen = name or getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or "anonymous"
        self.name = clean_text(chosen) if isinstance(chosen, str) else safe_repr(chosen)
        self.provider = provider
        self.positional, self.varargs, self.defaults = _parameter_names(fn)
        self.span_name = self.name

    def tracer(self) -> trace.Tracer | None:
        tracer = active_tracer(self.provider)
        if tracer is None or instrumentation_suppressed():
            return None
        return tracer

    def start(
        self, tracer: trace.Tracer, parent: Context, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[trace.Span, Context]:
        """Start the span under ``parent``; returns it and the context it was started in."""
        raise NotImplementedError

    def keeps_items(self) -> bool:
        """Whether a generator's items are kept as its result."""
        return False

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


class ToolSpec(Spec):
    __slots__ = ("capture", "description", "tool_type")

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None,
        provider: trace.TracerProvider | None,
        *,
        capture_content: bool | None = None,
        description: str | None = None,
        tool_type: str | None = sc.TOOL_TYPE_FUNCTION,
    ) -> None:
        super().__init__(fn, name, provider)
        self.capture = capture_content
        self.description = description
        self.tool_type = tool_type
        self.span_name = sc.SPAN_EXECUTE_TOOL.format(name=self.name)

    def keeps_items(self) -> bool:
        return self.capture if self.capture is not None else STATE.config.content.capture_content

    def start(
        self, tracer: trace.Tracer, parent: Context, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[trace.Span, Context]:
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: self.name,
        }
        if self.tool_type:
            attributes[sc.GEN_AI_TOOL_TYPE] = self.tool_type
        if self.description:
            attributes[sc.GEN_AI_TOOL_DESCRIPTION] = self.description
        if self.keeps_items():
            cleaned = STATE.config.content.json(self.arguments(instance, args, kwargs))
            attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] = cleaned.text
            if cleaned.redacted:
                attributes[sc.WORKLOG_REDACTED_COUNT] = cleaned.redacted
            if cleaned.truncated:
                attributes[sc.WORKLOG_TRUNCATED] = True
        return tracer.start_span(self.span_name, context=parent, attributes=attributes), parent

    def finish(self, call: _Call, result: Any) -> None:
        span = call.span
        try:
            if self.keeps_items():
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


class AgentSpec(Spec):
    """A bot span per call, started the way ``wl.bot`` starts one; ``handoff`` names the argument carrying one."""

    __slots__ = ("handoff", "new_trace", "role", "triggered_by")

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None,
        provider: trace.TracerProvider | None,
        *,
        role: str | None = None,
        triggered_by: str | None = None,
        handoff: str | None = None,
        new_trace: bool = False,
    ) -> None:
        super().__init__(fn, name, provider)
        self.role = role
        self.triggered_by = triggered_by
        self.new_trace = new_trace
        self.span_name = sc.SPAN_INVOKE_AGENT.format(name=self.name)
        if handoff is not None and not isinstance(handoff, str):
            logger.warning(
                "otel_worklog: @wl.agent(handoff=...) names the parameter that carries the handoff, got %s; ignored",
                safe_repr(handoff),
            )
            handoff = None
        self.handoff = handoff

    def start(
        self, tracer: trace.Tracer, parent: Context, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[trace.Span, Context]:
        outer = current_scope(parent)
        caller = outer.bot_name if outer is not None and outer.bot_name != self.name else None
        received = self.arguments(instance, args, kwargs).get(self.handoff) if self.handoff else None
        return open_bot_span(
            tracer,
            parent,
            self.name,
            role=self.role,
            triggered_by=self.triggered_by,
            handoff=received,
            new_trace=self.new_trace,
            default_trigger=caller or None,
        )


class _Call(EventLedger):
    """One traced call, the ledger of its span.

    ``call.run(fn, args, kwargs)`` runs one synchronous step with the span current, and ``with call:``
    one step around an ``await``; a step that fails ends the span. ``end()`` ends it, once.
    """

    __slots__ = ("ctx", "done", "items", "spec", "token")

    def __init__(self, spec: Spec, span: trace.Span, tracer: trace.Tracer, parent: Context) -> None:
        EventLedger.__init__(self, span, spec.span_name, tracer)
        self.spec = spec
        self.ctx = self.context(parent)
        self.token: object = None
        self.items: list[Any] | None = None
        self.done = False

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``fn(*args, **kwargs)`` as one step with the span current (``with call:`` without its two calls)."""
        token = otel_context.attach(self.ctx)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)
            self.end(exc=exc)
            raise
        otel_context.detach(token)
        return result

    def __enter__(self) -> _Call:
        self.token = otel_context.attach(self.ctx)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        otel_context.detach(self.token)  # type: ignore[arg-type]  # attach's own token, in this same frame
        if exc is not None:
            self.end(exc=exc)

    def keep(self, item: Any) -> None:
        if self.items is not None and len(self.items) < _MAX_RESULT_ITEMS:
            self.items.append(item)

    def end(self, result: Any = None, exc: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        self.ctx = _ENDED_CONTEXT  # the context holds this call as its ledger: break the cycle, free both now
        try:
            self.close()
            if exc is None:
                self.spec.finish(self, result)
            else:
                self.spec.fail(self, exc)
        except Exception:
            log_internal_error()


def _begin(
    spec: Spec, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Context | None = None
) -> _Call | None:
    """Start the span of one call; None for "call through untraced" (not configured, suppressed, or a fault)."""
    tracer = spec.tracer()
    if tracer is None:
        return None
    try:
        ctx = parent if parent is not None else otel_context.get_current()
        span, ctx = spec.start(tracer, ctx, instance, args, kwargs)
        return _Call(spec, span, tracer, ctx)
    except Exception:
        log_internal_error()
        return None


def _sync_wrapper(spec: Spec) -> Callable[..., Any]:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = _begin(spec, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        result = call.run(wrapped, args, kwargs)
        if type(result) not in _NEVER_AWAITABLE and isinstance(result, Awaitable):
            return _until_done(call, result)
        call.end(result)
        return result

    return wrapper


def _until_done(call: _Call, awaitable: Awaitable[Any]) -> Awaitable[Any]:
    """What a plain function returned, traced until it completes: a future keeps its identity."""
    if asyncio.isfuture(awaitable):
        awaitable.add_done_callback(functools.partial(_future_done, call))
        return awaitable
    return _awaited(call, awaitable)


def _future_done(call: _Call, future: asyncio.Future[Any]) -> None:
    if future.cancelled():
        call.end(exc=asyncio.CancelledError())
    elif (exc := future.exception()) is not None:
        call.end(exc=exc)
    else:
        call.end(future.result())


async def _awaited(call: _Call, awaitable: Awaitable[Any]) -> Any:
    with call:
        result = await awaitable
    call.end(result)
    return result


def _coroutine_wrapper(spec: Spec) -> Callable[..., Any]:
    async def run(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = _begin(spec, instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        with call:
            awaitable = wrapped(*args, **kwargs)
        return await _awaited(call, awaitable)

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return run(wrapped, instance, args, kwargs)

    return wrapper


def _step(inner: Generator[Any, Any, Any], sent: Any, thrown: BaseException | None) -> tuple[bool, Any]:
    """(done, value): the next item, or the return value once the generator is exhausted."""
    try:
        return False, inner.throw(thrown) if thrown is not None else inner.send(sent)
    except StopIteration as stop:
        return True, stop.value


async def _astep(inner: AsyncGenerator[Any, Any], sent: Any, thrown: BaseException | None) -> tuple[bool, Any]:
    try:
        return False, await (inner.athrow(thrown) if thrown is not None else inner.asend(sent))
    except StopAsyncIteration:
        return True, None


def _generator_wrapper(spec: Spec) -> Callable[..., Any]:
    def run(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Context
    ) -> Generator[Any, Any, Any]:
        inner = wrapped(*args, **kwargs)
        call = _begin(spec, instance, args, kwargs, parent)
        if call is None:
            return (yield from inner)
        call.items = [] if spec.keeps_items() else None
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            done, value = call.run(_step, (inner, sent, thrown), _NO_KWARGS)
            if done:
                call.end(value)
                return value
            call.keep(value)
            try:
                sent, thrown = (yield value), None
            except GeneratorExit as exc:
                call.run(inner.close, (), _NO_KWARGS)
                call.end(exc=exc)
                raise
            except BaseException as exc:
                sent, thrown = None, exc

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # The span starts when iteration starts, under the context of the call site.
        return run(wrapped, instance, args, kwargs, otel_context.get_current())

    return wrapper


def _async_generator_wrapper(spec: Spec) -> Callable[..., Any]:
    async def run(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any], parent: Context
    ) -> AsyncGenerator[Any, Any]:
        inner = wrapped(*args, **kwargs)
        call = _begin(spec, instance, args, kwargs, parent)
        if call is None:
            async for item in inner:
                yield item
            return
        call.items = [] if spec.keeps_items() else None
        sent: Any = None
        thrown: BaseException | None = None
        while True:
            with call:
                done, value = await _astep(inner, sent, thrown)
            if done:
                call.end(value)
                return
            call.keep(value)
            try:
                sent, thrown = (yield value), None
            except GeneratorExit as exc:
                with call:
                    await inner.aclose()
                call.end(exc=exc)
                raise
            except BaseException as exc:
                sent, thrown = None, exc

    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return run(wrapped, instance, args, kwargs, otel_context.get_current())

    return wrapper


def function_kind(fn: Any) -> str:
    """``sync``, ``coroutine``, ``generator`` or ``async_generator``.

    Sees through class/staticmethod, and judges a callable object by its ``__call__``.
    """
    target = getattr(fn, "__func__", fn)
    if not (inspect.isroutine(target) or isinstance(target, functools.partial | type)) and callable(target):
        target = type(target).__call__
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


def make_wrapper(spec: Spec, fn: Any) -> Callable[..., Any]:
    """The ``(wrapped, instance, args, kwargs)`` wrapper for ``fn``; callers mark the proxy that holds it."""
    return _WRAPPERS[function_kind(fn)](spec)


def spec_of(fn: Any) -> Spec | None:
    """The spec of an otel_worklog wrapper (also under a classmethod/staticmethod), else None."""
    for candidate in (fn, getattr(fn, "__func__", None)):
        try:
            spec = getattr(candidate, _MARKER, None)
        except Exception:  # an object whose __getattr__ raises something else
            spec = None
        if isinstance(spec, Spec):
            return spec
    return None


def _should_wrap(fn: Any, kind: type[Spec], decorator: str) -> bool:
    """False when ``fn`` already records this kind of span; warns once per type about framework tool objects."""
    if isinstance(spec_of(fn), kind):
        logger.debug("otel_worklog: %s is already traced by %s; not wrapped again", safe_repr(fn), decorator)
        return False
    if _is_framework_object(fn) and type(fn) not in _warned_framework_types:
        _warned_framework_types.add(type(fn))
        logger.warning(
            "otel_worklog: %s was applied to a %s.%s object, not a function; the framework calls the function "
            "inside it, so nothing is recorded. Put %s below the framework's decorator, directly on the function "
            "(for example @function_tool, then @wl.tool, then def ...).",
            decorator,
            type(fn).__module__,
            type(fn).__qualname__,
            decorator,
        )
    return True


def _is_framework_object(fn: Any) -> bool:
    if inspect.isroutine(fn) or isinstance(fn, classmethod | staticmethod | functools.partial | type):
        return False
    package = (getattr(type(fn), "__module__", None) or "").partition(".")[0]
    return package in _FRAMEWORK_PACKAGES or not callable(fn)


def mark(proxy: Any, spec: Spec) -> None:
    """Mark a wrapt proxy as ours, so that nothing wraps it twice."""
    setattr(proxy, _MARKER, spec)


def _decorator(
    wrapped: Any,
    kind: type[ToolSpec | AgentSpec],
    label: str,
    name: str | None,
    provider: trace.TracerProvider | None,
    options: dict[str, Any],
) -> Any:
    """``wrapped`` traced as ``kind``; without ``wrapped``, the decorator that does it (``@wl.tool(...)``)."""
    if wrapped is None:
        return functools.partial(_decorator, kind=kind, label=label, name=name, provider=provider, options=options)
    if not _should_wrap(wrapped, kind, label):
        return wrapped
    spec = kind(wrapped, name, provider, **options)
    proxy = wrapt.FunctionWrapper(wrapped, make_wrapper(spec, wrapped))
    mark(proxy, spec)
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
    tool_type: str | None = sc.TOOL_TYPE_FUNCTION,
    tracer_provider: trace.TracerProvider | None = None,
) -> Callable[[F], F]: ...
def tool(
    wrapped: Any = None,
    *,
    name: str | None = None,
    capture_content: bool | None = None,
    description: str | None = None,
    tool_type: str | None = sc.TOOL_TYPE_FUNCTION,
    tracer_provider: trace.TracerProvider | None = None,
) -> Any:
    """Trace each call of a tool as ``execute_tool {name}`` with its arguments, result and status."""
    options = {"capture_content": capture_content, "description": description, "tool_type": tool_type}
    return _decorator(wrapped, ToolSpec, "@wl.tool", name, tracer_provider, options)


@overload
def agent(wrapped: F) -> F: ...
@overload
def agent(
    wrapped: None = None,
    *,
    name: str | None = None,
    role: str | None = None,
    triggered_by: str | None = None,
    handoff: str | None = None,
    new_trace: bool = False,
    tracer_provider: trace.TracerProvider | None = None,
) -> Callable[[F], F]: ...
def agent(
    wrapped: Any = None,
    *,
    name: str | None = None,
    role: str | None = None,
    triggered_by: str | None = None,
    handoff: str | None = None,
    new_trace: bool = False,
    tracer_provider: trace.TracerProvider | None = None,
) -> Any:
    """Trace each call as the bot span ``invoke_agent {name}`` (the decorator form of ``wl.bot``).

    ``role``, ``triggered_by`` and ``new_trace`` mean what they mean for ``wl.bot``. A handoff
    arrives with each call, so ``handoff`` names the parameter that carries it (a ``wl.Handoff``,
    its carrier dict or the carrier's JSON; None in a call means no handoff).
    """
    options = {"role": role, "triggered_by": triggered_by, "handoff": handoff, "new_trace": new_trace}
    return _decorator(wrapped, AgentSpec, "@wl.agent", name, tracer_provider, options)
