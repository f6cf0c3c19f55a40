"""OpenAI Agents SDK: agent turns, tool calls, handoffs, usage and guardrails from its tracing events.

The SDK reports its work to trace processors through one dispatcher
(``SynchronousMultiTracingProcessor``), which calls them in registration order at a span's start
*and* at its end. otel_worklog wraps that dispatcher instead of joining its list, so that:

- its hooks run before every processor when a span starts and after every processor when it ends,
  whatever the order others registered in: contexts the others attach are restored before ours,
  and no ended span is left current;
- spans other processors (OpenInference, OpenLLMetry) start for the same event are adopted while
  they start: stamped with the bot and workspace, and marked as copies of ours;
- ``set_trace_processors([...])`` (OpenInference's ``exclusive_processor=True``) cannot remove it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.integrations.patching import FrameworkInstrumentor
from otel_worklog._internal.integrations.recorder import UNSET, Node, Recorder, handoff_reason
from otel_worklog._internal.pipeline.processors import adopting
from otel_worklog._internal.span_kinds import Kind

logger = logging.getLogger("otel_worklog")

__all__ = ["INSTRUMENTOR", "OpenAIAgentsInstrumentor", "instrument", "uninstrument"]

FRAMEWORK: Final = "openai-agents"
#: Handoffs whose receiving agent has not started yet, per (trace, agent); bounded.
_MAX_PENDING: Final = 1000
#: The arguments the model gave the handoff being executed (its ``input_type`` data): the SDK's
#: handoff span does not carry them.
_HANDOFF_ARGUMENTS: ContextVar[Any] = ContextVar("otel_worklog.openai_agents.handoff_arguments", default=None)


class _Bridge:
    """Turns the SDK's span events into otel_worklog spans."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._lock = threading.Lock()
        #: SDK span id -> the node recording it, or the node of its nearest recorded ancestor.
        self._nodes: dict[str, Node | None] = {}
        #: SDK trace id -> the OTel context current when the run started (the workspace), or its own root.
        self._roots: dict[str, Context] = {}
        self._run_nodes: dict[str, Node] = {}
        #: (SDK trace id, receiving agent) -> the handoff span that hands it the work, and its sender.
        self._pending: dict[tuple[str, str], tuple[trace.SpanContext, str]] = {}
        #: SDK span id -> the exception a tool raised (the SDK keeps only its text).
        self.tool_errors: dict[str, BaseException] = {}
        #: SDK span id of an MCP tool call -> the server's error text when it flagged the call failed, else None
        #: (the SDK hands a failed call's text to the model as the tool's output).
        self.mcp_calls: dict[str, str | None] = {}

    # --- dispatch -----------------------------------------------------------------------------
    def trace_start(self, wrapped: Callable[..., Any], sdk_trace: Any) -> Any:
        trace_id = getattr(sdk_trace, "trace_id", None)
        tracer = self.recorder.tracer()
        if trace_id is None or tracer is None:
            return wrapped(sdk_trace)
        ctx = otel_context.get_current()
        run = None
        try:
            run = self.recorder.start_run(tracer, getattr(sdk_trace, "name", "") or "", ctx)
            with self._lock:
                self._roots[trace_id] = run.ctx if run is not None else ctx
                if run is not None:
                    self._run_nodes[trace_id] = run
        except Exception:
            log_internal_error()
        # A processor's span for the whole run (OpenInference's is an AGENT span) is no agent turn.
        with adopting(self.recorder.adoption(run, copies=True, workspace_ctx=ctx)):
            return wrapped(sdk_trace)

    def trace_end(self, wrapped: Callable[..., Any], sdk_trace: Any) -> Any:
        try:
            return wrapped(sdk_trace)
        finally:
            trace_id = getattr(sdk_trace, "trace_id", None)
            with self._lock:
                self._roots.pop(trace_id, None)  # type: ignore[arg-type]
                run = self._run_nodes.pop(trace_id, None)  # type: ignore[arg-type]
                for key in [key for key in self._pending if key[0] == trace_id]:
                    del self._pending[key]
            if run is not None:
                self.recorder.end_run(run)

    def span_start(self, wrapped: Callable[..., Any], span: Any) -> Any:
        try:
            node, copies_of, copies = self._start(span)
        except Exception:
            log_internal_error()
            return wrapped(span)
        if copies_of is None:
            return wrapped(span)
        adoption = self.recorder.adoption(
            copies_of, copies=copies, workspace_ctx=self._root_of(span), turn=node is not None and node is copies_of
        )
        with adopting(adoption):
            result = wrapped(span)
        if node is not None and node.kind is not Kind.HANDOFF:
            node.activate()  # after every other processor attached its context: ours is restored first
        return result

    def span_end(self, wrapped: Callable[..., Any], span: Any) -> Any:
        try:
            return wrapped(span)
        finally:
            try:
                self._end(span)
            except Exception:
                log_internal_error()

    # --- events -------------------------------------------------------------------------------
    def _root_of(self, span: Any) -> Context:
        root = self._roots.get(span.trace_id)
        return root if root is not None else otel_context.get_current()

    def _parent(self, span: Any) -> Node | None:
        parent_id = span.parent_id
        return self._nodes.get(parent_id) if parent_id is not None else None

    def _start(self, span: Any) -> tuple[Node | None, Node | None, bool]:
        """(the node recording the span, the node others' spans for it belong to, whether they copy it)."""
        tracer = self.recorder.tracer()
        if tracer is None:
            return None, None, False
        data = span.span_data
        kind = data.type
        parent = self._parent(span)
        parent_ctx = parent.ctx if parent is not None else self._root_of(span)
        node: Node | None = None
        if kind == "agent":
            with self._lock:
                handoff, from_bot = self._pending.pop((span.trace_id, data.name), (None, None))
            node = self.recorder.start_agent(tracer, data.name, parent_ctx, handoff=handoff, handoff_from=from_bot)
        elif kind == "function":
            # Whether it is an MCP tool is known when it ends (``_end_tool``).
            node = self.recorder.start_tool(tracer, data.name, parent, parent_ctx)
        elif kind == "handoff":
            from_bot = data.from_agent or (parent.bot_name if parent is not None else None) or "unknown"
            node = self.recorder.start_handoff(tracer, from_bot, parent_ctx)
            node.extra["reason"] = handoff_reason(_HANDOFF_ARGUMENTS.get())
        with self._lock:
            self._nodes[span.span_id] = node if node is not None else parent
        if kind in ("generation", "response") and parent is not None and parent.bot is not None:
            return None, parent.bot, True  # others' spans of this call copy the usage the bot span sums
        if node is None:
            return None, parent, False  # others' spans of a run step: the bot and workspace of its agent
        return node, node, True

    def _end(self, span: Any) -> None:
        with self._lock:
            node = self._nodes.pop(span.span_id, None)
        if node is None:
            self.tool_errors.pop(span.span_id, None)
            self.mcp_calls.pop(span.span_id, None)
            return
        end = _ENDS.get(span.span_data.type)
        if end is not None:
            end(self, span, node)

    def _end_agent(self, span: Any, node: Node) -> None:
        if node.kind is Kind.BOT:
            failure = _failure_text(span.error)
            node.deactivate()
            self.recorder.end_agent(node, failure=failure)

    def _end_tool(self, span: Any, node: Node) -> None:
        """The tool's exception when it raised one (kept by ``_tool_error_keeper``), else the SDK's failure text,
        else the error an MCP server flagged (kept by ``_mcp_error_keeper``)."""
        if node.kind is not Kind.TOOL:
            return
        data = span.span_data
        is_mcp = span.span_id in self.mcp_calls
        mcp_error = self.mcp_calls.pop(span.span_id, None)
        failure = _failure_text(span.error) or mcp_error
        if is_mcp or getattr(data, "mcp_data", None):
            node.span.set_attribute(sc.GEN_AI_TOOL_TYPE, sc.TOOL_TYPE_EXTENSION)
        node.deactivate()
        exc = self.tool_errors.pop(span.span_id, None)
        output = data.output if data.output is not None else UNSET
        arguments = data.input if data.input is not None else UNSET
        self.recorder.end_tool(node, arguments=arguments, result=output, error=exc, failure=None if exc else failure)

    def _end_handoff(self, span: Any, node: Node) -> None:
        """The receiving agent, when it starts in this trace, links back to this handoff."""
        if node.kind is not Kind.HANDOFF:
            return
        to_agent = span.span_data.to_agent
        self.recorder.end_handoff(node, to_agent or "unknown", reason=node.extra.get("reason"))
        if to_agent:
            with self._lock:
                self._pending[(span.trace_id, to_agent)] = (node.span.get_span_context(), node.name)
                while len(self._pending) > _MAX_PENDING:
                    del self._pending[next(iter(self._pending))]

    def _end_turn(self, span: Any, node: Node) -> None:
        usage = span.span_data.usage
        if isinstance(usage, dict):
            self.recorder.add_usage(node, usage.get("input_tokens"), usage.get("output_tokens"))

    def _end_generation(self, span: Any, node: Node) -> None:
        """A Chat Completions call: its usage (counted when no turn reported any), or only its model when it failed."""
        data = span.span_data
        usage = data.usage
        if isinstance(usage, dict):
            self.recorder.add_usage(
                node, usage.get("input_tokens"), usage.get("output_tokens"), data.model, per_turn=False
            )
        elif data.model:
            self.recorder.add_usage(node, 0, 0, data.model, per_turn=False)

    def _end_response(self, span: Any, node: Node) -> None:
        """A Responses API call: usage and the serving model from the response it kept."""
        response = getattr(span.span_data, "response", None)
        usage = getattr(response, "usage", None)
        self.recorder.add_usage(
            node,
            getattr(usage, "input_tokens", 0),
            getattr(usage, "output_tokens", 0),
            getattr(response, "model", None),
            per_turn=False,
        )

    def _end_guardrail(self, span: Any, node: Node) -> None:
        data = span.span_data
        if getattr(data, "triggered", False):
            self.recorder.warning(
                node.bot, f"guardrail {data.name} tripped", {"guardrail": data.name, "framework": FRAMEWORK}
            )


#: How the end of each type of SDK span is recorded; the other types record nothing.
_ENDS: Final[Mapping[str, Callable[[_Bridge, Any, Node], None]]] = {
    "agent": _Bridge._end_agent,
    "function": _Bridge._end_tool,
    "handoff": _Bridge._end_handoff,
    "turn": _Bridge._end_turn,
    "generation": _Bridge._end_generation,
    "response": _Bridge._end_response,
    "guardrail": _Bridge._end_guardrail,
}


def _failure_text(error: Any) -> str | None:
    """What the SDK says went wrong (its errors are dicts of a message and data), or None when nothing did."""
    if not error:
        return None
    if isinstance(error, dict):
        message = str(error.get("message") or "failed")
        data = error.get("data")
        detail = data.get("error") if isinstance(data, dict) else None
        return f"{message}: {detail}" if detail else message
    return str(error)


class OpenAIAgentsInstrumentor(FrameworkInstrumentor):
    distribution = "openai-agents"
    module = "agents"
    extra = "openai-agents"

    def __init__(self) -> None:
        super().__init__()
        self._bridge = _Bridge(Recorder(FRAMEWORK))

    def _set_provider(self, tracer_provider: trace.TracerProvider | None) -> None:
        self._bridge.recorder.provider = tracer_provider

    def _install(self) -> None:
        from agents import tool as agents_tool
        from agents.run_internal import turn_resolution
        from agents.tracing import get_trace_provider
        from agents.tracing.provider import SynchronousMultiTracingProcessor

        bridge = self._bridge

        def on_trace_start(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
            return bridge.trace_start(wrapped, *args, **kwargs)

        def on_trace_end(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
            return bridge.trace_end(wrapped, *args, **kwargs)

        def on_span_start(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
            return bridge.span_start(wrapped, *args, **kwargs)

        def on_span_end(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
            return bridge.span_end(wrapped, *args, **kwargs)

        self.patch(SynchronousMultiTracingProcessor, "on_trace_start", on_trace_start)
        self.patch(SynchronousMultiTracingProcessor, "on_trace_end", on_trace_end)
        self.patch(SynchronousMultiTracingProcessor, "on_span_start", on_span_start)
        self.patch(SynchronousMultiTracingProcessor, "on_span_end", on_span_end)
        if "execute_handoffs" in vars(turn_resolution):
            self.patch(turn_resolution, "execute_handoffs", _keep_handoff_arguments)
        if "maybe_invoke_function_tool_failure_error_function" in vars(agents_tool):
            self.patch(agents_tool, "maybe_invoke_function_tool_failure_error_function", _tool_error_keeper(bridge))
        self._keep_mcp_errors()
        for owner in _trace_provider_setters():
            self.patch(owner, "set_trace_provider", _warn_on_bypassing_provider)
        _check_dispatch(get_trace_provider(), "in use")

    def _keep_mcp_errors(self) -> None:
        """Every MCP client the SDK has (stdio, SSE, streamable HTTP) calls tools through ``mcp``'s session."""
        try:
            from mcp.client.session import ClientSession
        except ImportError:  # the SDK imports mcp only for its MCP servers
            return
        if "call_tool" in vars(ClientSession):
            self.patch(ClientSession, "call_tool", _mcp_error_keeper(self._bridge))


def _trace_provider_setters() -> list[Any]:
    """The modules that bind ``set_trace_provider`` (the SDK re-exports it twice)."""
    import agents
    from agents import tracing
    from agents.tracing import setup

    return [module for module in (setup, tracing, agents) if "set_trace_provider" in vars(module)]


def _check_dispatch(provider: Any, when: str) -> None:
    """Warn when ``provider`` hides the SDK's events from otel_worklog's hooks, and say what avoids it."""
    from agents.tracing.provider import SynchronousMultiTracingProcessor

    if isinstance(getattr(provider, "_multi_processor", None), SynchronousMultiTracingProcessor):
        return
    logger.warning(
        "otel_worklog: the OpenAI Agents trace provider %s (%s) does not dispatch through the SDK's "
        "SynchronousMultiTracingProcessor, so otel_worklog records none of its runs; keep the SDK's "
        "default trace provider and add your processors with agents.tracing.add_trace_processor "
        "(not set_trace_provider)",
        when,
        type(provider).__name__,
    )


def _warn_on_bypassing_provider(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """``set_trace_provider`` called after ``instrument()``: the new provider may remove otel_worklog's hooks."""
    result = wrapped(*args, **kwargs)
    try:
        provider = args[0] if args else kwargs.get("provider")
        _check_dispatch(provider, "just set")
    except Exception:
        log_internal_error()
    return result


async def _keep_handoff_arguments(
    wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The SDK executes the first handoff the model asked for: keep its arguments for the handoff span."""
    run_handoffs = kwargs.get("run_handoffs")
    first = run_handoffs[0] if isinstance(run_handoffs, list) and run_handoffs else None
    token = _HANDOFF_ARGUMENTS.set(getattr(getattr(first, "tool_call", None), "arguments", None))
    try:
        return await wrapped(*args, **kwargs)
    finally:
        _HANDOFF_ARGUMENTS.reset(token)


def _tool_error_keeper(bridge: _Bridge) -> Callable[..., Any]:
    """Keep the exception a function tool raised, for its span: the SDK reports only a message."""
    from agents.tracing import get_current_span

    async def keep(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        error = kwargs.get("error")
        if isinstance(error, BaseException):
            current = get_current_span()
            span_id = getattr(current, "span_id", None)
            if span_id is not None and span_id in bridge._nodes:
                bridge.tool_errors[span_id] = error
        return await wrapped(*args, **kwargs)

    return keep


def _mcp_error_keeper(bridge: _Bridge) -> Callable[..., Any]:
    """Mark the SDK's tool call an MCP call, failed when the server flagged its result an error (``isError``)."""
    from agents.tracing import get_current_span

    async def keep(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = await wrapped(*args, **kwargs)
        try:
            span_id = getattr(get_current_span(), "span_id", None)
            if span_id is not None and span_id in bridge._nodes:
                bridge.mcp_calls[span_id] = _mcp_error_text(result)
        except Exception:
            log_internal_error()
        return result

    return keep


def _mcp_error_text(result: Any) -> str | None:
    """The text of an MCP tool result the server flagged an error (``is_error``; ``isError`` in mcp 1), else None."""
    if getattr(result, "is_error", getattr(result, "isError", False)) is not True:
        return None
    texts = [str(item.text) for item in getattr(result, "content", None) or () if getattr(item, "type", "") == "text"]
    return "\n".join(texts) or "the MCP server reported an error"


INSTRUMENTOR: Final = OpenAIAgentsInstrumentor()


def instrument(*, tracer_provider: trace.TracerProvider | None = None) -> None:
    """Record every agent turn, tool call, handoff, usage and tripped guardrail of the SDK's runs (idempotent)."""
    INSTRUMENTOR.instrument(tracer_provider)


def uninstrument() -> None:
    """Stop recording and put the SDK back as it was (idempotent)."""
    INSTRUMENTOR.uninstrument()
