"""Every secret of the corpus is redacted on every channel; every look-alike survives intact.

The real SDK exports to memory (the ``worklog`` fixture); a secret counts as leaked if it appears
anywhere in what was exported: a span or event name, an attribute key or value, a status.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.util.types import Attributes

import otel_worklog as wl
from otel_worklog import semconv as sc
from otel_worklog._internal.record.scrubbing import DEFAULT_SCRUBBER
from otel_worklog.testing import WorklogCapture
from tests.recorded import attrs, str_attr

from .secret_corpus import LARGE_BLOBS, NEGATIVES, NOT_SENSITIVE_KEYS, POSITIVES, USAGE_COUNTS, Negative, Positive

DEPTH = 40  # deeper than any depth limit of the SDK


def _deep(value: Any, depth: int = DEPTH) -> Any:
    for _ in range(depth):
        value = {"level": value}
    return value


@wl.tool(name="probe")
def _probe(value: Any) -> Any:
    return "ok"


@wl.tool(name="echo")
def _echo(value: Any) -> Any:
    return value


@wl.tool(name="fails")
def _fails(value: Any) -> Any:
    raise RuntimeError(f"failed: {value}")


def _log(text: str, **details: Any) -> None:
    with wl.workspace("#w"), wl.bot("nanobot"):
        wl.info(text, details=details or None)


def _raise(text: str) -> None:
    with pytest.raises(RuntimeError):
        _fails(text)


def _nested_result(text: str) -> None:
    _echo({"rows": [{"value": text}]})


def _escalate(text: str) -> None:
    with wl.workspace("#w"), wl.bot("nanobot"):
        wl.escalate(text)


#: How a text reaches a span: each channel a user's text can take.
CHANNELS: dict[str, Callable[[str], object]] = {
    "message": lambda text: _log(text),
    "detail_value": lambda text: _log("x", note=text),
    "detail_nested": lambda text: _log("x", context={"lines": ["a", text]}),
    "detail_deep": lambda text: _log("x", deep=_deep(text)),
    "detail_key": lambda text: _log("x", **{text: "value"}),
    "tool_argument": lambda text: _probe(text),
    "tool_nested_argument": lambda text: _probe({"config": {"env": [text]}}),
    "tool_deep_argument": lambda text: _probe(_deep(text)),
    "tool_argument_key": lambda text: _probe({text: "value"}),
    "tool_result": lambda text: _echo(text),
    "tool_nested_result": _nested_result,
    "exception": _raise,
    "escalation": _escalate,
}


#: Channels that cut deep structure on purpose (a secret there is cut, not labelled).
CUT = {"detail_deep", "tool_deep_argument"}


def exported_strings(spans: list[ReadableSpan]) -> Iterator[str]:
    """Every string a backend would receive: names, attribute keys and values, statuses."""

    def attributes(recorded: Attributes) -> Iterator[str]:
        for key, value in (recorded or {}).items():
            yield key
            if isinstance(value, str):
                yield value
            elif isinstance(value, tuple | list):
                yield from (item for item in value if isinstance(item, str))

    for span in spans:
        yield span.name
        yield span.status.description or ""
        yield from attributes(span.attributes)
        for event in span.events:
            yield event.name
            yield from attributes(event.attributes)
        for link in span.links:
            yield from attributes(link.attributes)


@pytest.mark.parametrize("channel", sorted(CHANNELS))
@pytest.mark.parametrize("positive", POSITIVES, ids=lambda p: p.kind)
def test_a_secret_reaches_no_exported_string(worklog: WorklogCapture, positive: Positive, channel: str) -> None:
    CHANNELS[channel](positive.text)
    exported = list(exported_strings(worklog.spans()))
    for secret in positive.secrets:
        leaks = [text for text in exported if secret in text]
        assert not leaks, f"{positive.kind} leaked through {channel}: {leaks[0][:300]!r}"
    if channel not in CUT:
        assert any("[REDACTED" in text for text in exported), f"{positive.kind}: nothing was redacted on {channel}"


def _entry(worklog: WorklogCapture) -> Event:
    return worklog.events()[0][1]


def _tool(worklog: WorklogCapture, name: str) -> ReadableSpan:
    return worklog.span(f"execute_tool {name}")


#: For each channel: how to read the text back from the export (a look-alike must come back unchanged).
READ_BACK: dict[str, Callable[[WorklogCapture, str], object]] = {
    "message": lambda w, text: attrs(_entry(w))[sc.WORKLOG_MESSAGE],
    "detail_value": lambda w, text: attrs(_entry(w))["worklog.details.note"],
    "detail_nested": lambda w, text: json.loads(str_attr(_entry(w), "worklog.details.context"))["lines"][1],
    "detail_key": lambda w, text: text if attrs(_entry(w)).get(f"worklog.details.{text}") == "value" else None,
    "tool_argument": lambda w, text: json.loads(str_attr(_tool(w, "probe"), sc.GEN_AI_TOOL_CALL_ARGUMENTS))["value"],
    "tool_nested_argument": lambda w, text: json.loads(str_attr(_tool(w, "probe"), sc.GEN_AI_TOOL_CALL_ARGUMENTS))[
        "value"
    ]["config"]["env"][0],
    "tool_argument_key": lambda w, text: next(
        iter(json.loads(str_attr(_tool(w, "probe"), sc.GEN_AI_TOOL_CALL_ARGUMENTS))["value"])
    ),
    "tool_result": lambda w, text: json.loads(str_attr(_tool(w, "echo"), sc.GEN_AI_TOOL_CALL_RESULT)),
    "exception": lambda w, text: str_attr(_tool(w, "fails").events[0], "exception.message").removeprefix("failed: "),
    "escalation": lambda w, text: attrs(w.span("escalation"))[sc.WORKLOG_ESCALATION_REASON],
}


@pytest.mark.parametrize("channel", sorted(READ_BACK))
@pytest.mark.parametrize("negative", NEGATIVES, ids=lambda n: n.kind)
def test_a_look_alike_survives_intact(worklog: WorklogCapture, negative: Negative, channel: str) -> None:
    worklog.configure(max_value_length=1_000_000)  # the blobs are long; only redaction may change them
    CHANNELS[channel](negative.text)
    assert READ_BACK[channel](worklog, negative.text) == negative.text
    assert not any("[REDACTED" in text for text in exported_strings(worklog.spans()))


def test_usage_counts_and_look_alike_keys_survive_as_details_and_arguments(worklog: WorklogCapture) -> None:
    values = {**USAGE_COUNTS, **NOT_SENSITIVE_KEYS}
    _log("usage", **values)
    _probe(values)
    _echo(values)
    attributes = attrs(_entry(worklog))
    assert {key: attributes[f"worklog.details.{key}"] for key in values} == values
    assert json.loads(str_attr(_tool(worklog, "probe"), sc.GEN_AI_TOOL_CALL_ARGUMENTS)) == {"value": values}
    assert json.loads(str_attr(_tool(worklog, "echo"), sc.GEN_AI_TOOL_CALL_RESULT)) == values
    assert sc.WORKLOG_REDACTED_COUNT not in attrs(_tool(worklog, "probe"))


def test_large_random_images_are_left_whole() -> None:
    damaged = [i for i, blob in enumerate(LARGE_BLOBS) if DEFAULT_SCRUBBER.scrub_text(blob).value != blob]
    assert damaged == []
