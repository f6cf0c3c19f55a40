"""A sampler that never loses an escalation.

Head samplers decide before the outcome is known, so a trace sampled out would
lose the one span a human must see. :class:`WorklogSampler` keeps every span
that is an escalation or a detector alert (``span_kinds.classify`` tells them by the marker
each carries from creation) and delegates everything else to the configured sampler.
Apps that bring their own tracer provider install it themselves:
``TracerProvider(sampler=wl.WorklogSampler(their_sampler))``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, get_current_span
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from otel_worklog._internal.span_kinds import is_escalation_or_alert

logger = logging.getLogger("otel_worklog")


class WorklogSampler(Sampler):
    """Keep escalations and alerts always; ask ``base`` (default: parent-based always-on) about the rest."""

    def __init__(self, base: Sampler | None = None) -> None:
        self.base = base if base is not None else ParentBased(ALWAYS_ON)

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if attributes and is_escalation_or_alert(name, attributes):
            parent_state = get_current_span(parent_context).get_span_context().trace_state
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes, parent_state)
        return self.base.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"WorklogSampler{{{self.base.get_description()}}}"


def _ratio(arg: str | None) -> float:
    if arg is None or arg.strip() == "":
        return 1.0
    try:
        value = float(arg)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        logger.warning("otel_worklog: OTEL_TRACES_SAMPLER_ARG=%r is not a ratio from 0 to 1; using 1.0", arg)
        return 1.0
    return value


def sampler_from_env() -> Sampler:
    """The sampler named by ``OTEL_TRACES_SAMPLER`` (and ``_ARG``), as the SDK would build it."""
    name = os.environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on").strip().lower()
    arg = os.environ.get("OTEL_TRACES_SAMPLER_ARG")
    choices: dict[str, Callable[[], Sampler]] = {
        "always_on": lambda: ALWAYS_ON,
        "always_off": lambda: ALWAYS_OFF,
        "traceidratio": lambda: TraceIdRatioBased(_ratio(arg)),
        "parentbased_always_on": lambda: ParentBased(ALWAYS_ON),
        "parentbased_always_off": lambda: ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": lambda: ParentBased(TraceIdRatioBased(_ratio(arg))),
    }
    make = choices.get(name)
    if make is None:
        logger.warning("otel_worklog: unknown OTEL_TRACES_SAMPLER=%r; using parentbased_always_on", name)
        return ParentBased(ALWAYS_ON)
    return make()
