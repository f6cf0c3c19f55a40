"""LangGraph (and LangChain): agents, tools, handoffs and usage from LangChain's callback events.

Every LangChain callback goes through one dispatcher (``handle_event``, ``ahandle_event`` for async
runs), which calls the handlers in order at a run's start *and* at its end. otel_worklog wraps that
dispatcher, so its hooks run before every handler when a run starts and after every handler when it
ends: contexts other handlers attach (OpenLLMetry's) are restored before ours, no ended span stays
current, and the spans other handlers start for the same run (OpenInference's, OpenLLMetry's) are
adopted while they start. A handler of ours rides along only so that LangChain dispatches at all.

What is what:

- an agent is a compiled subgraph (``create_react_agent``, ``create_agent``, a supervisor's worker:
  its run carries a ``checkpoint_ns`` whose last segment is its own name), or a named graph run on its own;
- a tool call is a tool run; a tool named ``transfer_to_<agent>`` (``langgraph_supervisor``'s handoff
  tools) or returning ``Command(goto=...)`` hands the work to that agent;
- ``ParentCommand`` and ``GraphInterrupt`` are LangGraph's control flow, never failures.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.faults import log_internal_error
from otel_worklog._internal.integrations.patching import FrameworkInstrumentor
from otel_worklog._internal.integrations.recorder import UNSET, Node, Recorder, handoff_links, handoff_reason
from otel_worklog._internal.pipeline.processors import adopting, mark_copy
from otel_worklog._internal.span_kinds import Kind, classify, is_control_flow, is_handoff_tool_name

logger = logging.getLogger("otel_worklog")

__all__ = ["INSTRUMENTOR", "LangGraphInstrumentor", "instrument", "uninstrument"]

FRAMEWORK: Final = "langgraph"
_UNNAMED_GRAPH: Final = "LangGraph"
_INTEGRATION: Final = "langgraph"
_MODEL_STARTS: Final = frozenset({"on_chat_model_start", "on_llm_start"})
_STARTS: Final = frozenset({"on_chain_start", "on_tool_start", *_MODEL_STARTS})
_ENDS: Final = frozenset(
    {"on_chain_end", "on_chain_error", "on_tool_end", "on_tool_error", "on_llm_end", "on_llm_error"}
)
_MAX_PENDING: Final = 1000


@dataclass(slots=True, eq=False)
class _Run:
    """A LangChain run: the node recording it (if any), the context its children start in, its root run."""

    node: Node | None
    ctx: Context
    owner: Node | None
    root: UUID
    arguments: Any = UNSET
    parent: _Run | None = None
    #: The graph node the run belongs to (LangGraph's ``langgraph_node``).
    graph_node: str | None = None
    #: Spans other handlers started for this run.
    others: list[Any] | None = None


class _Bridge:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.beacon: Any = None
        self._lock = threading.Lock()
        self._runs: dict[UUID, _Run] = {}
        #: (root run, receiving agent) -> (handoff span, sender).
        self._pending: dict[tuple[UUID, str], tuple[trace.SpanContext, str]] = {}

    # --- dispatch -----------------------------------------------------------------------------
    def dispatch(self, wrapped: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        event = self._event(args, kwargs)
        if event is None:
            return wrapped(*args, **kwargs)
        name, event_args = event
        if name in _STARTS:
            node, adoption = self._start_safely(name, event_args, kwargs)
            if adoption is None:
                return wrapped(*args, **kwargs)
            with adopting(adoption):
                result = wrapped(*args, **kwargs)
            if node is not None and node.kind is not Kind.HANDOFF:
                node.activate()
            return result
        self._before_end(name, event_args, kwargs)
        try:
            return wrapped(*args, **kwargs)
        finally:
            self._end_safely(name, event_args, kwargs)

    async def adispatch(
        self, wrapped: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        event = self._event(args, kwargs)
        if event is None:
            return await wrapped(*args, **kwargs)
        name, event_args = event
        if name in _STARTS:
            node, adoption = self._start_safely(name, event_args, kwargs)
            if adoption is None:
                return await wrapped(*args, **kwargs)
            with adopting(adoption):
                result = await wrapped(*args, **kwargs)
            if node is not None and node.kind is not Kind.HANDOFF:
                node.activate()
            return result
        self._before_end(name, event_args, kwargs)
        try:
            return await wrapped(*args, **kwargs)
        finally:
            self._end_safely(name, event_args, kwargs)

    def _event(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]] | None:
        """(event name, its arguments) when this dispatch is one of ours to follow."""
        if len(args) < 3:
            return None
        handlers, name = args[0], args[1]
        if name not in _STARTS and name not in _ENDS:
            return None
        beacon = self.beacon
        if beacon is not None and any(handler is beacon for handler in handlers):
            return name, args[3:]
        # Async LangChain starts a model call once per handler: others' starts come without ours.
        if name in _MODEL_STARTS and kwargs.get("parent_run_id") in self._runs:
            return name, args[3:]
        return None  # not a run we follow

    def _start_safely(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Node | None, Any]:
        try:
            return self._start(name, args, kwargs)
        except Exception:
            log_internal_error()
            return None, None

    def _before_end(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """Before others fail their spans of a run that ``ParentCommand`` or an interrupt ended: say so."""
        error = args[0] if args and name in ("on_chain_error", "on_tool_error") else None
        if not isinstance(error, BaseException) or not is_control_flow(type(error).__name__):
            return
        try:
            with self._lock:
                run = self._runs.get(kwargs.get("run_id"))  # type: ignore[arg-type]
            for span in (run.others or ()) if run is not None else ():
                if span.is_recording():
                    span.set_attribute(sc.ERROR_TYPE, type(error).__name__)
        except Exception:
            log_internal_error()

    def _end_safely(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            self._end(name, args, kwargs)
        except Exception:
            log_internal_error()

    # --- events -------------------------------------------------------------------------------
    def _start(self, event: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Node | None, Any]:
        """Record the run if it is an agent turn, a tool call or a handoff; say what others' spans of it are.

        Others' spans of a run are copies of what we record for it: of the whole graph run at the
        root, of the agent turn for the runs inside it (OpenInference calls any run whose name
        contains "agent" an agent), of the tool call or handoff for a tool run, of the usage the bot
        span sums for a model call.
        """
        tracer = self.recorder.tracer()
        run_id = kwargs.get("run_id")
        if tracer is None or not isinstance(run_id, UUID):
            return None, None
        parent_id = kwargs.get("parent_run_id")
        with self._lock:
            parent = self._runs.get(parent_id) if isinstance(parent_id, UUID) else None
        run = _new_run(run_id, parent, kwargs.get("metadata") or {})
        parent_ctx = run.ctx
        if event == "on_chain_start":
            run.node = self._start_chain(tracer, run, kwargs)
        elif event == "on_tool_start":
            run.node = self._start_tool(tracer, run, args, kwargs)
        if run.node is not None:
            run.ctx = run.node.ctx
            if run.node.kind is not Kind.OTHER:
                run.owner = run.node
        with self._lock:
            self._runs[run_id] = run
        copies_of = run.node or (run.owner.bot if run.owner is not None else None)
        copies = copies_of is not None or parent is None
        adoption = self.recorder.adoption(
            copies_of, copies=copies, workspace_ctx=parent_ctx, started=run.others, turn=run.node is not None
        )
        return run.node, adoption

    def _start_chain(self, tracer: trace.Tracer, run: _Run, kwargs: Mapping[str, Any]) -> Node | None:
        """An agent's turn (unless it is the agent already at work), the whole graph run at the root, else nothing."""
        name = kwargs.get("name")
        agent = _agent_name(name, kwargs.get("metadata") or {}, kwargs.get("parent_run_id"))
        owner = run.owner
        if agent is not None and (owner is None or owner.bot is None or owner.bot.name != agent):
            with self._lock:
                handoff, sender = self._pending.pop((run.root, agent), (None, None))
            node = self.recorder.start_agent(tracer, agent, run.ctx, handoff=handoff, handoff_from=sender)
            self._adopt_wrappers(run, agent, node, name)
            return node
        if run.parent is None:
            _mark_current_copy(name, "")  # OpenLLMetry's own span of the graph run
            return self.recorder.start_run(tracer, str(name or ""), run.ctx)
        return None

    def _start_tool(self, tracer: trace.Tracer, run: _Run, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Node:
        """A tool call, or a handoff when the tool is a handoff tool (``transfer_to_<agent>``)."""
        tool = _tool_name(args, kwargs)
        run.arguments = _tool_arguments(args, kwargs)
        owner = run.owner
        if is_handoff_tool_name(tool):
            sender = owner.bot_name if owner is not None and owner.bot_name else "unknown"
            return self.recorder.start_handoff(tracer, sender, run.ctx)
        call_id = kwargs.get("tool_call_id")
        return self.recorder.start_tool(tracer, tool, owner, run.ctx, call_id=call_id, arguments=run.arguments)

    def _adopt_wrappers(self, run: _Run, agent: str, node: Node, name: Any) -> None:
        """The runs that wrap an agent's subgraph in its graph node are part of its turn, as are their spans."""
        links = handoff_links(node)
        _mark_current_copy(name, node.span_id, links)  # OpenLLMetry's own span of the subgraph run
        wrapper = run.parent
        while wrapper is not None and wrapper.node is None and wrapper.graph_node == agent:
            for span in wrapper.others or ():
                if span.is_recording():
                    span.set_attribute(sc.WORKLOG_DUPLICATE_OF, node.span_id)
                    for context, attributes in links:
                        span.add_link(context, attributes)
            wrapper = wrapper.parent

    def _end(self, event: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        run_id = kwargs.get("run_id")
        with self._lock:
            run = self._runs.pop(run_id, None) if isinstance(run_id, UUID) else None
        if run is None:
            return
        node = run.node
        payload = args[0] if args else None
        if event in ("on_llm_end", "on_llm_error"):
            if event == "on_llm_end":
                input_tokens, output_tokens, model = _usage(payload)
                self.recorder.add_usage(run.owner, input_tokens, output_tokens, model)
            return
        if node is None:
            if event == "on_chain_end":
                self._goto(payload, run, kwargs)
            return
        error = payload if event.endswith("_error") and isinstance(payload, BaseException) else None
        if node.kind is Kind.OTHER:
            node.deactivate()
            self.recorder.end_run(node, error=error)
        elif node.kind is Kind.BOT:
            node.deactivate()
            self.recorder.end_agent(node, error=error)
            if event == "on_chain_end":
                self._goto(payload, run, kwargs)
        elif node.kind is Kind.HANDOFF:
            targets = _goto_targets(payload)
            self._finish_handoff(node, run, targets[0] if targets else "unknown", _reason(run.arguments))
        elif node.kind is Kind.TOOL:
            node.deactivate()
            if error is not None and is_control_flow(type(error).__name__):
                self.recorder.end_tool(node)
                return
            self.recorder.end_tool(node, result=_tool_result(payload) if error is None else UNSET, error=error)
            if error is None:
                self._goto(payload, run, kwargs)

    def _goto(self, output: Any, run: _Run, kwargs: Mapping[str, Any]) -> None:
        """A ``Command(goto=...)`` returned by a node or a tool hands the work to each target."""
        targets = _goto_targets(output)
        tracer = self.recorder.tracer()
        if not targets or tracer is None:
            return
        # The agent whose work returned it; in a graph that is no agent itself, the node that returned it.
        sender = run.owner.bot_name if run.owner is not None and run.owner.bot_name else run.graph_node
        if sender is None:
            return
        for target in targets:
            if target != sender:
                node = self.recorder.start_handoff(tracer, sender, run.ctx)
                self._finish_handoff(node, run, target, None)

    def _finish_handoff(self, node: Node, run: _Run, target: str, reason: str | None) -> None:
        self.recorder.end_handoff(node, target, reason=reason)
        with self._lock:
            self._pending[(run.root, target)] = (node.span.get_span_context(), node.name)
            while len(self._pending) > _MAX_PENDING:
                del self._pending[next(iter(self._pending))]


def _new_run(run_id: UUID, parent: _Run | None, metadata: Mapping[str, Any]) -> _Run:
    """A run, not recorded yet: in its parent's context and work, or, at the root, in the current context."""
    graph_node = metadata.get("langgraph_node")
    named = graph_node if isinstance(graph_node, str) else None
    if parent is None:
        return _Run(None, otel_context.get_current(), None, run_id, graph_node=named, others=[])
    return _Run(None, parent.ctx, parent.owner, parent.root, parent=parent, graph_node=named, others=[])


def _mark_current_copy(name: Any, copy_of: str, links: tuple[tuple[trace.SpanContext, Any], ...] = ()) -> None:
    """The span current as a graph run starts, when another instrumentation started it as the same agent
    (then it gets the agent's handoff ``links`` too)."""
    span = trace.get_current_span()
    if not isinstance(name, str) or not span.is_recording():
        return
    attributes = getattr(span, "attributes", None) or {}
    scope = getattr(span, "instrumentation_scope", None)
    if getattr(scope, "name", sc.INSTRUMENTATION_SCOPE) == sc.INSTRUMENTATION_SCOPE:
        return
    is_agent = sc.WORKLOG_DUPLICATE_OF in attributes or classify(getattr(span, "name", ""), attributes) is Kind.BOT
    if is_agent and attributes.get(sc.GEN_AI_AGENT_NAME, name) == name:
        mark_copy(span, copy_of)
        for context, link_attributes in links:
            span.add_link(context, link_attributes)


def _agent_name(name: Any, metadata: Mapping[str, Any], parent_id: Any) -> str | None:
    """The agent a chain run is, or None: a subgraph named like its checkpoint namespace, or a named graph."""
    if not isinstance(name, str) or not name:
        return None
    namespace = metadata.get("checkpoint_ns")
    if isinstance(namespace, str) and namespace:
        last = namespace.rsplit("|", 1)[-1].split(":", 1)[0]
        return name if last == name else None
    if parent_id is None and metadata.get("ls_integration") == _INTEGRATION and name != _UNNAMED_GRAPH:
        return name
    return None


def _tool_name(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name
    serialized = args[0] if args else None
    found = serialized.get("name") if isinstance(serialized, Mapping) else None
    return found if isinstance(found, str) and found else "tool"


def _tool_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> Any:
    inputs = kwargs.get("inputs")
    if isinstance(inputs, Mapping):
        return dict(inputs)
    return args[1] if len(args) > 1 else UNSET


def _tool_result(output: Any) -> Any:
    """A ``ToolMessage``'s content (what the model reads), else the output itself."""
    content = getattr(output, "content", UNSET)
    return output if content is UNSET else content


def _goto_targets(output: Any) -> list[str]:
    """The agents a ``Command(goto=...)`` (or a node's list of them) sends the work to."""
    if isinstance(output, list | tuple):
        return [target for item in output if _is_command(item) for target in _goto_targets(item)]
    if not _is_command(output):
        return []
    goto = getattr(output, "goto", None)
    found: list[str] = []
    for item in goto if isinstance(goto, list | tuple) else [goto]:
        target = item if isinstance(item, str) else getattr(item, "node", None)  # a Send names its node
        if isinstance(target, str) and target and not target.startswith("__"):
            found.append(target)
    return found


def _is_command(value: Any) -> bool:
    return type(value).__name__ == "Command"


def _reason(arguments: Any) -> str | None:
    """A handoff tool's ``reason``-like argument; never its whole input, which carries the injected graph state."""
    reason = handoff_reason(arguments)
    return reason if isinstance(reason, str) else None


def _usage(response: Any) -> tuple[int, int, str | None]:
    """Tokens and model of an LLM result: ``llm_output`` when the model reports it, else the messages' usage."""
    output = getattr(response, "llm_output", None) or {}
    if not isinstance(output, Mapping):
        output = {}
    model = output.get("model_name") or output.get("model")
    usage = output.get("token_usage") or output.get("usage")
    if isinstance(usage, Mapping):
        input_tokens = _count(usage, "prompt_tokens", "input_tokens")
        return input_tokens, _count(usage, "completion_tokens", "output_tokens"), _text_or_none(model)
    return _messages_usage(response, model)


def _messages_usage(response: Any, model: Any) -> tuple[int, int, str | None]:
    """Tokens summed over the generated messages' ``usage_metadata``; the model, unless known, from their metadata."""
    input_tokens = output_tokens = 0
    for generations in getattr(response, "generations", None) or ():
        for generation in generations:
            message = getattr(generation, "message", None)
            usage_metadata = getattr(message, "usage_metadata", None)
            if isinstance(usage_metadata, Mapping):
                input_tokens += _count(usage_metadata, "input_tokens")
                output_tokens += _count(usage_metadata, "output_tokens")
            metadata = getattr(message, "response_metadata", None)
            if model is None and isinstance(metadata, Mapping):
                model = _text_or_none(metadata.get("model_name") or metadata.get("model"))
    return input_tokens, output_tokens, _text_or_none(model)


def _count(values: Mapping[str, Any], *keys: str) -> int:
    """The first count found under ``keys`` (providers name token counts differently), else 0."""
    for key in keys:
        value = values.get(key)
        if value:
            return int(value)
    return 0


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _BeaconVar:
    """Stands in for the ``ContextVar`` of LangChain's configure hooks: the same handler in every thread."""

    def __init__(self) -> None:
        self.handler: Any = None

    def get(self, default: Any = None) -> Any:
        return self.handler


_BEACON_VAR: Final = _BeaconVar()


class LangGraphInstrumentor(FrameworkInstrumentor):
    distribution = "langgraph"
    module = "langchain_core"
    extra = "langgraph"

    def __init__(self) -> None:
        super().__init__()
        self._bridge = _Bridge(Recorder(FRAMEWORK))
        self._hook_registered = False

    def _set_provider(self, tracer_provider: trace.TracerProvider | None) -> None:
        self._bridge.recorder.provider = tracer_provider

    def _install(self) -> None:
        from langchain_core.callbacks import BaseCallbackHandler, manager
        from langchain_core.tracers.context import register_configure_hook

        class WorklogBeacon(BaseCallbackHandler):
            """otel_worklog's presence among LangChain's handlers; the recording is done around them."""

            run_inline = True

            def on_chat_model_start(self, *args: Any, **kwargs: Any) -> None:
                """Handled: otherwise LangChain turns every chat history into text for ``on_llm_start``."""

        bridge = self._bridge
        bridge.beacon = _BEACON_VAR.handler = WorklogBeacon()
        if not self._hook_registered:
            register_configure_hook(_BEACON_VAR, True)  # type: ignore[arg-type]  # duck-typed ContextVar
            self._hook_registered = True

        def handle_event(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
            return bridge.dispatch(wrapped, args, kwargs)

        async def ahandle_event(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: Any) -> Any:
            return await bridge.adispatch(wrapped, args, kwargs)

        self.patch(manager, "handle_event", handle_event)
        self.patch(manager, "ahandle_event", ahandle_event)

    def _uninstall(self) -> None:
        self._bridge.beacon = _BEACON_VAR.handler = None


INSTRUMENTOR: Final = LangGraphInstrumentor()


def instrument(*, tracer_provider: trace.TracerProvider | None = None) -> None:
    """Record every agent, tool call, handoff and model usage of LangGraph runs (idempotent)."""
    INSTRUMENTOR.instrument(tracer_provider)


def uninstrument() -> None:
    """Stop recording and put LangChain's callback dispatch back as it was (idempotent)."""
    INSTRUMENTOR.uninstrument()
