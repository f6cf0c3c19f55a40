"""The batch limit's weight of a span is never less than what the OTLP exporter encodes for it.

Export batches are cut to an estimated size so that one request stays under a receiver's cap; an
estimate below the real encoding would let a batch through that the exporter then drops whole. Each
span here is encoded by the real OTLP protobuf encoder the exporters use.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import Link, Status, StatusCode

from otel_worklog._internal.pipeline.sizing import OTLP_REQUEST, estimated_size

#: (A lone surrogate is not here: the OTLP encoder cannot encode one at all, and what otel_worklog records
#: has them replaced first, see serialize.clean_text.)
_TEXTS = {
    "ascii": "post-quantum algorithms",
    "accents": "café résumé naïve " * 5,
    "cjk": "格子暗号は有力な候補です" * 4,
    "emoji": "🔐🧪📈" * 20,
    "escapes": 'quote " backslash \\ newline \n tab \t nul \x00',
    "large": "x" * 20_000,
    "large unicode": "é" * 20_000,
}


def _encoded_size(span: ReadableSpan) -> int:
    """The bytes this span's own message takes in an export request (with its field tag and length)."""
    request = encode_spans([span])
    (message,) = request.resource_spans[0].scope_spans[0].spans
    size = message.ByteSize()
    return size + 1 + len(_varint(size))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _spans() -> Iterator[tuple[str, ReadableSpan]]:
    tracer = TracerProvider().get_tracer("sizing")
    other = tracer.start_span("other")
    other.end()
    values: dict[str, Any] = {
        "int": 2**62,
        "negative int": -(2**62),
        "float": 3.141592653589793,
        "bool": True,
        "strings": ("a", "é" * 50, "🔐" * 10),
        "ints": tuple(range(-50, 50)),
        "floats": (0.1, -2.5e300),
        "bools": (True, False, True),
    }
    for label, text in _TEXTS.items():
        values[label] = text
    for label, value in values.items():
        span = tracer.start_span(f"span {label}", attributes={f"value.{label}": value, "gen_ai.tool.name": "t"})
        span.end()
        yield label, span  # type: ignore[misc]  # the SDK's spans are ReadableSpans
    for label, text in _TEXTS.items():
        span = tracer.start_span(
            text,
            attributes={text[:200]: text},
            links=[Link(other.get_span_context(), {"link." + label: text})],
        )
        span.add_event(text[:500], {"event." + label: text, "n": 1})
        span.set_status(Status(StatusCode.ERROR, text))
        span.end()
        yield f"{label} everywhere", span  # type: ignore[misc]
    empty = tracer.start_span("")
    empty.end()
    yield "empty", empty  # type: ignore[misc]


@pytest.mark.parametrize(("label", "span"), list(_spans()), ids=lambda value: value if isinstance(value, str) else "")
def test_the_estimate_is_never_below_the_encoding(label: str, span: ReadableSpan) -> None:
    assert estimated_size(span) >= _encoded_size(span), label


def test_a_batch_cut_to_the_limit_encodes_under_it() -> None:
    """Spans with 16 KiB arguments, cut as the batch processor cuts them: each request stays under the limit."""
    tracer = TracerProvider().get_tracer("sizing")
    spans: list[ReadableSpan] = []
    for i in range(600):
        span = tracer.start_span("execute_tool transform", attributes={"gen_ai.tool.call.arguments": f"{i}" * 16_384})
        span.end()
        spans.append(span)  # type: ignore[arg-type]
    batches: list[list[ReadableSpan]] = [[]]
    total = 0
    for ended in spans:
        weight = OTLP_REQUEST.weigh(ended)
        if batches[-1] and total + weight > OTLP_REQUEST.most:
            batches.append([])
            total = 0
        batches[-1].append(ended)
        total += weight
    assert len(batches) > 1
    assert all(encode_spans(batch).ByteSize() <= OTLP_REQUEST.most for batch in batches)
    assert sum(len(batch) for batch in batches) == 600


def test_an_ordinary_span_is_weighed_close_to_its_size() -> None:
    """Erring high, but not so high that ordinary batches are cut small: within twice the encoding."""
    tracer = TracerProvider().get_tracer("sizing")
    with tracer.start_as_current_span(
        "execute_tool web_search",
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "web_search",
            "gen_ai.tool.call.arguments": '{"query": "post-quantum algorithms", "limit": 3}',
            "worklog.tool.duration_ms": 0.02,
        },
    ) as span:
        pass
    assert isinstance(span, ReadableSpan)
    assert _encoded_size(span) <= estimated_size(span) <= 2 * _encoded_size(span)
    assert trace.get_current_span() is trace.INVALID_SPAN
