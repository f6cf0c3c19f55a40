"""What every framework integration records, in one place: agent turns, tool calls, handoffs, usage.

The spans are the ones ``wl.bot``, ``@wl.tool`` and ``wl.handoff`` make (names, attributes, content
redaction and truncation through the same :class:`ContentPolicy`), built from a framework's events
instead of from a decorated call. Each integration turns its framework's events into calls here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.trace import Link, Status, StatusCode

from otel_worklog._internal import semconv as sc
from otel_worklog._internal.integrations.activation import Activation
from otel_worklog._internal.pipeline.processors import Adoption, remember
from otel_worklog._internal.record.entries import warning
from otel_worklog._internal.record.scope import SCOPE_KEY, Scope, current_scope, instrumentation_suppressed
from otel_worklog._internal.record.serialize import clean_text, safe_repr
from otel_worklog._internal.record.spans import record_error
from otel_worklog._internal.record.state import STATE, active_tracer
from otel_worklog._internal.span_kinds import Kind, is_control_flow

__all__ = ["UNSET", "Node", "Recorder", "content_attributes", "handoff_links", "handoff_reason"]

#: "The framework did not say": distinct from a tool that returned None.
UNSET: Final[Any] = object()
#: Arguments of a handoff (a handoff tool's, OpenAI Agents' ``input_type`` data) that say why.
_REASON_KEYS: Final = ("reason", "task_description", "task")
_HANDOFF_LINK: Final = {sc.WORKLOG_LINK_TYPE: sc.LINK_TYPE_HANDOFF}


@dataclass(slots=True, eq=False)
class Node:
    """One agent turn, tool call or handoff a framework reported, as recorded."""

    kind: Kind
    name: str
    span: trace.Span
    #: The context its work runs in: its span current and its bot's scope.
    ctx: Context
    #: The agent turn it belongs to (itself for an agent turn).
    bot: Node | None = None
    activation: Activation | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None
    has_usage: bool = False
    #: The handoff that started this agent turn.
    handoff: trace.SpanContext | None = None
    #: Usage from model calls, used only when the framework reported no per-turn usage.
    call_input_tokens: int = 0
    call_output_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bot_name(self) -> str | None:
        return self.bot.name if self.bot is not None else None

    @property
    def span_id(self) -> str:
        return trace.format_span_id(self.span.get_span_context().span_id)

    def activate(self) -> None:
        """Make this node's context current (until :meth:`deactivate`), for the framework code that runs next."""
        if self.activation is None:
            self.activation = Activation(self.ctx)

    def deactivate(self) -> None:
        activation, self.activation = self.activation, None
        if activation is not None:
            activation.restore()


class Recorder:
    """Records one framework's events through otel_worklog's tracer (or the given provider's)."""

    def __init__(self, framework: str, tracer_provider: trace.TracerProvider | None = None) -> None:
        self.framework = framework
        self.provider = tracer_provider

    def tracer(self) -> trace.Tracer | None:
        """The tracer to record with, or None for "record nothing" (not configured, or suppressed)."""
        tracer = active_tracer(self.provider)
        if tracer is None or instrumentation_suppressed():
            return None
        return tracer

    # --- runs ---------------------------------------------------------------------------------
    def start_run(self, tracer: trace.Tracer, name: str, parent: Context) -> Node | None:
        """A framework run outside any span of ours gets a root, ``invoke_workflow {name}``, so that its
        agents share one trace; inside a workspace or a bot it needs none (None)."""
        if trace.get_current_span(parent).get_span_context().is_valid:
            return None
        name = clean_text(name) if isinstance(name, str) and name else "workflow"
        attributes = {
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_WORKFLOW,
            sc.GEN_AI_WORKFLOW_NAME: name,
            sc.WORKLOG_FRAMEWORK: self.framework,
        }
        span = tracer.start_span(sc.SPAN_INVOKE_WORKFLOW.format(name=name), context=parent, attributes=attributes)
        return Node(Kind.OTHER, name, span, trace.set_span_in_context(span, parent))

    def end_run(self, node: Node, *, error: BaseException | None = None) -> None:
        _fail(node.span, error, None, "Error")
        node.span.end()

    # --- agents -------------------------------------------------------------------------------
    def start_agent(
        self,
        tracer: trace.Tracer,
        name: str,
        parent: Context,
        *,
        handoff: trace.SpanContext | None = None,
        handoff_from: str | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> Node:
        """An agent's turn: the bot span ``invoke_agent {name}``, linked to the handoff that started it.

        An agent started inside another bot's work (an agent used as a tool, a delegation) was handed
        that work: a handoff span from the calling bot is recorded and linked.
        """
        name = clean_text(name) if isinstance(name, str) and name else "agent"
        outer = current_scope(parent)
        if handoff is None and outer is not None and outer.bot_name and outer.bot_name != name:
            handoff_from = outer.bot_name
            handoff = self.handoff(tracer, outer.bot_name, name, parent).span.get_span_context()
        span_attributes: dict[str, Any] = {
            sc.BOT_NAME: name,
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_INVOKE_AGENT,
            sc.GEN_AI_AGENT_NAME: name,
            sc.WORKLOG_FRAMEWORK: self.framework,
        }
        if handoff_from:
            span_attributes[sc.BOT_TRIGGERED_BY] = handoff_from
        if attributes:
            span_attributes.update(attributes)
        scope = Scope.make(outer.workspace if outer is not None else None, name, None)
        ctx = otel_context.set_value(SCOPE_KEY, scope, parent)
        links = [Link(handoff, _HANDOFF_LINK)] if handoff is not None and handoff.is_valid else []
        span = tracer.start_span(
            sc.SPAN_INVOKE_AGENT.format(name=name), context=ctx, attributes=span_attributes, links=links
        )
        node = Node(Kind.BOT, name, span, trace.set_span_in_context(span, ctx))
        node.bot = node
        node.handoff = handoff if links else None
        _remember(node)
        return node

    def end_agent(self, node: Node, *, error: BaseException | None = None, failure: str | None = None) -> None:
        """End the turn; usage summed on it; failed when the framework reported a failure."""
        span = node.span
        input_tokens = node.input_tokens if node.has_usage else node.call_input_tokens
        output_tokens = node.output_tokens if node.has_usage else node.call_output_tokens
        if input_tokens or output_tokens or node.has_usage:
            span.set_attributes(
                {sc.GEN_AI_USAGE_INPUT_TOKENS: input_tokens, sc.GEN_AI_USAGE_OUTPUT_TOKENS: output_tokens}
            )
        if node.model:
            span.set_attribute(sc.GEN_AI_REQUEST_MODEL, node.model)
        _fail(span, error, failure, "AgentError")
        span.end()

    def add_usage(
        self, node: Node | None, input_tokens: Any, output_tokens: Any, model: Any = None, *, per_turn: bool = True
    ) -> None:
        """Add a turn's (or, when ``per_turn`` is False, one model call's) token usage to its bot."""
        bot = node.bot if node is not None else None
        if bot is None:
            return
        if per_turn:
            bot.has_usage = True
            bot.input_tokens += _count(input_tokens)
            bot.output_tokens += _count(output_tokens)
        else:
            bot.call_input_tokens += _count(input_tokens)
            bot.call_output_tokens += _count(output_tokens)
        if isinstance(model, str) and model:
            bot.model = clean_text(model)

    # --- tools --------------------------------------------------------------------------------
    def start_tool(
        self,
        tracer: trace.Tracer,
        name: str,
        parent: Node | None,
        parent_ctx: Context,
        *,
        call_id: str | None = None,
        tool_type: str = sc.TOOL_TYPE_FUNCTION,
        arguments: Any = UNSET,
    ) -> Node:
        """One tool call: ``execute_tool {name}``, as ``@wl.tool`` records it."""
        name = clean_text(name) if isinstance(name, str) and name else "tool"
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: sc.OPERATION_EXECUTE_TOOL,
            sc.GEN_AI_TOOL_NAME: name,
            sc.GEN_AI_TOOL_TYPE: tool_type,
            sc.WORKLOG_FRAMEWORK: self.framework,
        }
        if call_id:
            attributes[sc.GEN_AI_TOOL_CALL_ID] = clean_text(call_id)
        bot = parent.bot if parent is not None else None
        if bot is not None:
            attributes[sc.BOT_NAME] = bot.name
        if arguments is not UNSET:
            attributes.update(content_attributes(sc.GEN_AI_TOOL_CALL_ARGUMENTS, arguments))
        span = tracer.start_span(sc.SPAN_EXECUTE_TOOL.format(name=name), context=parent_ctx, attributes=attributes)
        node = Node(Kind.TOOL, name, span, trace.set_span_in_context(span, parent_ctx), bot=bot)
        _remember(node)
        return node

    def end_tool(
        self,
        node: Node,
        *,
        arguments: Any = UNSET,
        result: Any = UNSET,
        error: BaseException | None = None,
        failure: str | None = None,
    ) -> None:
        """End the call with its arguments and result (redacted, truncated), status and error."""
        span = node.span
        attributes: dict[str, Any] = {}
        if arguments is not UNSET:
            attributes.update(content_attributes(sc.GEN_AI_TOOL_CALL_ARGUMENTS, arguments))
        failed = (error is not None and not is_control_flow(type(error).__name__)) or failure is not None
        if result is not UNSET and not failed:
            for key, value in content_attributes(sc.GEN_AI_TOOL_CALL_RESULT, result).items():
                if key == sc.WORKLOG_REDACTED_COUNT:
                    value += attributes.get(key, 0)
                attributes[key] = value
        attributes[sc.WORKLOG_TOOL_STATUS] = sc.TOOL_STATUS_ERROR if failed else sc.TOOL_STATUS_SUCCESS
        span.set_attributes(attributes)
        _fail(span, error, failure, "ToolError")
        span.end()

    # --- handoffs -----------------------------------------------------------------------------
    def handoff(
        self,
        tracer: trace.Tracer,
        from_bot: str,
        to_bot: str,
        parent: Context,
        *,
        reason: str | None = None,
        start_time: int | None = None,
    ) -> Node:
        """A finished ``handoff {from} -> {to}`` span, as ``wl.handoff`` records it."""
        node = self.start_handoff(tracer, from_bot, parent, start_time=start_time)
        self.end_handoff(node, to_bot, reason=reason)
        return node

    def start_handoff(
        self, tracer: trace.Tracer, from_bot: str, parent: Context, *, start_time: int | None = None
    ) -> Node:
        """A handoff whose target the framework names only when it ends (see :meth:`end_handoff`)."""
        from_bot = clean_text(from_bot) if isinstance(from_bot, str) and from_bot else "unknown"
        scope = current_scope(parent)
        attributes: dict[str, Any] = {
            sc.WORKLOG_HANDOFF_FROM: from_bot,
            sc.BOT_NAME: from_bot,
            sc.WORKLOG_FRAMEWORK: self.framework,
        }
        if scope is not None:
            attributes[sc.WORKLOG_STEP] = scope.workspace.next_step() if scope.workspace is not None else 0
        span = tracer.start_span(
            sc.SPAN_HANDOFF.format(from_bot=from_bot, to_bot="?"),
            context=parent,
            attributes=attributes,
            start_time=start_time,
        )
        return Node(Kind.HANDOFF, from_bot, span, trace.set_span_in_context(span, parent))

    def end_handoff(self, node: Node, to_bot: str, *, reason: Any = None) -> None:
        """Name the target; ``reason`` is text, or the handoff's structured input (see :func:`handoff_reason`)."""
        span = node.span
        to_bot = clean_text(to_bot) if isinstance(to_bot, str) and to_bot else "unknown"
        span.update_name(sc.SPAN_HANDOFF.format(from_bot=node.name, to_bot=to_bot))
        attributes: dict[str, Any] = {sc.WORKLOG_HANDOFF_TO: to_bot, sc.WORKLOG_HANDOFF_ARTIFACTS: []}
        reason_text = _reason_text(reason)
        if reason_text is not None:
            attributes[sc.WORKLOG_HANDOFF_REASON] = reason_text
        span.set_attributes(attributes)
        message = f"{node.name} -> {to_bot}" + (f": {reason_text}" if reason_text else "")
        event: dict[str, Any] = {
            sc.WORKLOG_LEVEL: "handoff",
            sc.WORKLOG_CATEGORY: sc.CATEGORY_HANDOFF,
            sc.WORKLOG_MESSAGE: message,
            sc.WORKLOG_MENTIONS: [to_bot],
        }
        step = getattr(span, "attributes", {}).get(sc.WORKLOG_STEP)
        if isinstance(step, int):
            event[sc.WORKLOG_STEP] = step
        span.add_event(sc.event_name("handoff"), event)
        span.end()

    # --- entries and neighbours ---------------------------------------------------------------
    def warning(self, node: Node | None, message: str, details: Mapping[str, Any] | None = None) -> None:
        """A warning entry on ``node``'s span, in its bot's scope."""
        if node is None:
            return
        token = otel_context.attach(node.ctx)
        try:
            warning(message, details=details)
        finally:
            otel_context.detach(token)

    @staticmethod
    def adoption(
        node: Node | None,
        *,
        copies: bool,
        workspace_ctx: Context | None = None,
        started: list[Any] | None = None,
        turn: bool = False,
    ) -> Adoption:
        """What spans other listeners start for this event describe: ``node``'s bot and, when they are
        ``copies``, the same thing as ``node`` (the whole run when there is no node). When the event is
        the ``turn`` of the agent ``node`` records, their spans of it are linked to its handoff too."""
        stamp: dict[str, Any] = {}
        scope = current_scope(node.ctx if node is not None else workspace_ctx)
        if scope is not None:
            stamp.update(scope.stamp)
        copy_of = (node.span_id if node is not None else "") if copies else None
        links = handoff_links(node) if turn else ()
        return Adoption(stamp, copy_of, started, links)


def handoff_links(node: Node | None) -> tuple[tuple[trace.SpanContext, Mapping[str, Any]], ...]:
    """The handoff link of the agent turn ``node`` records, for other instrumentations' spans of that turn."""
    if node is None or node.kind is not Kind.BOT or node.handoff is None:
        return ()
    return ((node.handoff, _HANDOFF_LINK),)


def _remember(node: Node) -> None:
    """Spans others start under this agent turn or tool call take its bot; a copy of it counts once."""
    if isinstance(node.span, SdkSpan) and node.span.is_recording():
        remember(node.span, node.kind, node.name)


def _fail(span: trace.Span, error: BaseException | None, failure: str | None, failure_type: str) -> None:
    """A failure the framework reported, as an exception or as text; its control flow is no failure."""
    if error is not None:
        if not is_control_flow(type(error).__name__):
            record_error(span, error)
        return
    if failure is not None:
        record_failure(span, failure_type, failure)


def record_failure(span: trace.Span, error_type: str, message: str) -> None:
    """Mark ``span`` failed when the framework reports a failure without the exception (as ``record_error``)."""
    text = STATE.config.content.text(message).text
    span.add_event(
        "exception",
        {"exception.type": error_type, "exception.message": text, "exception.escaped": True},
        timestamp=time.time_ns(),
    )
    span.set_attribute(sc.ERROR_TYPE, error_type)
    span.set_status(Status(StatusCode.ERROR, f"{error_type}: {text}"))


def content_attributes(key: str, value: Any) -> dict[str, Any]:
    """``key`` and its bookkeeping attributes for a tool argument or result, when content is captured."""
    content = STATE.config.content
    if not content.capture_content:
        return {}
    cleaned = content.json(_parsed(value))
    attributes: dict[str, Any] = {key: cleaned.text}
    if cleaned.redacted:
        attributes[sc.WORKLOG_REDACTED_COUNT] = cleaned.redacted
    if cleaned.truncated:
        attributes[sc.WORKLOG_TRUNCATED] = True
    return attributes


def handoff_reason(arguments: Any) -> Any:
    """Why the work was handed over, from a handoff's arguments: the text of a ``reason``-like field,
    else the whole input the model gave (JSON text or a mapping), else None."""
    arguments = _parsed(arguments)
    if isinstance(arguments, Mapping):
        for key in _REASON_KEYS:
            value = arguments.get(key)
            if isinstance(value, str) and value:
                return value
        return dict(arguments) or None
    return arguments if isinstance(arguments, str) and arguments.strip() else None


def _reason_text(reason: Any) -> str | None:
    """A handoff's reason as recorded: text scrubbed and truncated, structured input as ``@wl.tool`` arguments."""
    if reason is None:
        return None
    content = STATE.config.content
    if isinstance(reason, str):
        return content.text(reason).text
    if isinstance(reason, Mapping):
        return content.json(reason).text
    return content.text(safe_repr(reason)).text


def _parsed(value: Any) -> Any:
    """Frameworks hand tool arguments over as JSON text: record the structure, as ``@wl.tool`` does."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
