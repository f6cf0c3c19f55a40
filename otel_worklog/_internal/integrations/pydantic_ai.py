"""pydantic-ai: its own GenAI spans, adopted.

pydantic-ai already records ``invoke_agent {agent}``, ``execute_tool {tool}`` and ``chat {model}``
spans (usage and model on the ``chat`` spans). otel_worklog records none of its own beside them:

- ``instrument()`` turns pydantic-ai's instrumentation on for every agent (unless the app already
  chose its settings), with pydantic-ai's own content capture off: tool arguments and results are
  recorded by otel_worklog instead, redacted and truncated like ``@wl.tool``, with ``worklog.tool.status``;
- the stamping processor adopts the ``invoke_agent`` spans as bot spans (``bot.name``, the
  workspace), gives every span under them their bot, and records an agent run started inside
  another agent's tool as a handoff from that agent (span and link);
- the agent's ``invoke_agent`` span gets the model's name as ``gen_ai.request.model`` (the tokens
  stay on pydantic-ai's ``chat`` spans, where analytics and the cost detector count them once);
- a tool runs in its agent's bot scope, so ``wl.decision``, ``wl.escalate`` and ``wl.handoff``
  inside it name that agent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.integrations.patching import FrameworkInstrumentor
from otel_worklog._internal.integrations.recorder import content_attributes
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope, current_scope
from otel_worklog._internal.record.serialize import clean_text
from otel_worklog._internal.span_kinds import is_control_flow

__all__ = ["INSTRUMENTOR", "PydanticAIInstrumentor", "instrument", "uninstrument"]

FRAMEWORK: Final = "pydantic-ai"


def _tool_execute_wrapper() -> Callable[..., Any]:
    async def wrap_tool_execute(
        wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        handler = kwargs.get("handler")
        if handler is None:
            return await wrapped(*args, **kwargs)
        try:
            run_context = args[0] if args else kwargs.get("ctx")
            agent = getattr(getattr(run_context, "agent", None), "name", None)
            call = kwargs.get("call")
            own_content = not getattr(getattr(instance, "settings", None), "include_content", True)
            kwargs["handler"] = _recording_handler(handler, agent, call, own_content)
        except Exception:
            log_internal_error()
        return await wrapped(*args, **kwargs)

    return wrap_tool_execute


def _run_wrapper() -> Callable[..., Any]:
    async def wrap_run(
        wrapped: Callable[..., Awaitable[Any]], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        handler = kwargs.get("handler")
        run_context = args[0] if args else kwargs.get("ctx")
        model = getattr(getattr(run_context, "model", None), "model_name", None)
        if handler is None or not isinstance(model, str) or getattr(run_context, "realtime", None):
            return await wrapped(*args, **kwargs)
        kwargs["handler"] = _naming_handler(handler, model)
        return await wrapped(*args, **kwargs)

    return wrap_run


def _naming_handler(handler: Callable[[], Awaitable[Any]], model: str) -> Callable[[], Awaitable[Any]]:
    """Run the agent with the model's name on its ``invoke_agent`` span (pydantic-ai puts it only in ``model_name``)."""

    async def run() -> Any:
        try:
            span = trace.get_current_span()
            if span.is_recording():
                span.set_attribute(sc.GEN_AI_REQUEST_MODEL, clean_text(model))
        except Exception:
            log_internal_error()
        return await handler()

    return run


def _recording_handler(
    handler: Callable[[Any], Awaitable[Any]], agent: Any, call: Any, own_content: bool
) -> Callable[[Any], Awaitable[Any]]:
    """Run the tool inside pydantic-ai's ``execute_tool`` span: in its agent's scope, its call recorded."""

    async def run(validated: Any) -> Any:
        span = trace.get_current_span()
        token = None
        try:
            if own_content and span.is_recording() and call is not None:
                span.set_attributes(content_attributes(sc.GEN_AI_TOOL_CALL_ARGUMENTS, call.args_as_dict()))
            if isinstance(agent, str) and agent:
                outer = current_scope()
                scope = Scope.make(outer.workspace if outer is not None else None, agent, None)
                token = otel_context.attach(otel_context.set_value(SCOPE_KEY, scope))
        except Exception:
            log_internal_error()
        try:
            result = await handler(validated)
        except BaseException as exc:
            _detach(token)
            _record_status(span, exc)
            raise
        _detach(token)
        try:
            if span.is_recording():
                attributes = {sc.WORKLOG_TOOL_STATUS: sc.TOOL_STATUS_SUCCESS}
                if own_content:
                    attributes.update(content_attributes(sc.GEN_AI_TOOL_CALL_RESULT, result))
                span.set_attributes(attributes)
        except Exception:
            log_internal_error()
        return result

    return run


def _detach(token: Any) -> None:
    if token is not None:
        otel_context.detach(token)


def _record_status(span: trace.Span, exc: BaseException) -> None:
    if not span.is_recording() or is_control_flow(type(exc).__name__):
        return
    cancelled = isinstance(exc, asyncio.CancelledError | KeyboardInterrupt)
    span.set_attribute(sc.WORKLOG_TOOL_STATUS, sc.TOOL_STATUS_CANCELLED if cancelled else sc.TOOL_STATUS_ERROR)
    if isinstance(exc, Exception):
        span.set_attribute(sc.ERROR_TYPE, type(exc).__name__)


class _FollowingTracer(trace.Tracer):
    """A tracer that records through whatever provider otel_worklog uses at each call.

    pydantic-ai takes its tracer once, when its settings are made; this one follows ``wl.configure``
    (made before or after ``instrument()``, and made again) and records nothing before it.
    """

    def __init__(self, provider: trace.TracerProvider | None, name: str, version: str | None) -> None:
        self._provider = provider
        self._name = name
        self._version = version
        self._tracers: dict[int, trace.Tracer] = {}

    def _tracer(self) -> trace.Tracer:
        from otel_worklog._internal.record.state import STATE

        provider = self._provider or STATE.provider
        if provider is None:
            return trace.NoOpTracer()
        tracer = self._tracers.get(id(provider))
        if tracer is None:
            tracer = self._tracers[id(provider)] = provider.get_tracer(self._name, self._version)
        return tracer

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._tracer().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._tracer().start_as_current_span(*args, **kwargs)


class _FollowingTracerProvider(trace.TracerProvider):
    def __init__(self, provider: trace.TracerProvider | None) -> None:
        self._provider = provider

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> trace.Tracer:
        return _FollowingTracer(self._provider, instrumenting_module_name, instrumenting_library_version)


class PydanticAIInstrumentor(FrameworkInstrumentor):
    distribution = "pydantic-ai-slim"
    module = "pydantic_ai"
    extra = "pydantic-ai"

    def __init__(self) -> None:
        super().__init__()
        self._provider: trace.TracerProvider | None = None
        #: What ``Agent.instrument_all`` was before we turned it on (None: we did not).
        self._previous: Any = None

    def _set_provider(self, tracer_provider: trace.TracerProvider | None) -> None:
        self._provider = tracer_provider

    def _install(self) -> None:
        from pydantic_ai import Agent
        from pydantic_ai.capabilities.instrumentation import Instrumentation
        from pydantic_ai.models.instrumented import InstrumentationSettings

        current = Agent._instrument_default
        if current is False:  # the app chose nothing: ours, without pydantic-ai's raw content
            self._previous = current
            provider = _FollowingTracerProvider(self._provider)
            Agent.instrument_all(InstrumentationSettings(tracer_provider=provider, include_content=False))
        self.patch(Instrumentation, "wrap_tool_execute", _tool_execute_wrapper())
        self.patch(Instrumentation, "wrap_run", _run_wrapper())

    def _uninstall(self) -> None:
        if self._previous is not None:
            from pydantic_ai import Agent

            Agent.instrument_all(self._previous)
            self._previous = None


INSTRUMENTOR: Final = PydanticAIInstrumentor()


def instrument(*, tracer_provider: trace.TracerProvider | None = None) -> None:
    """Turn on pydantic-ai's own spans for every agent and adopt them as bots and tool calls (idempotent)."""
    INSTRUMENTOR.instrument(tracer_provider)


def uninstrument() -> None:
    """Stop recording and put pydantic-ai's instrumentation default back as it was (idempotent)."""
    INSTRUMENTOR.uninstrument()
