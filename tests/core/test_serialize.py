"""Tool arguments and results as JSON: the encoder built once writes what the standard library writes."""

from __future__ import annotations

import json
import threading
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from otel_worklog._internal.record import serialize

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def _standard(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def test_the_prebuilt_encoder_is_in_use() -> None:
    assert serialize._fast_encoder is not None  # CPython ships the C accelerator


@given(_JSON)
def test_json_values_are_written_as_json_dumps_writes_them(value: Any) -> None:
    assert serialize.dumps(value) == _standard(value)


def test_what_json_cannot_hold_takes_the_careful_path() -> None:
    cycle: list[Any] = []
    cycle.append(cycle)
    assert json.loads(serialize.dumps(cycle)) == ["<recursive reference>"]
    assert serialize.dumps({"n": float("nan"), "b": b"ab"}) == '{"n": "nan", "b": "<2 bytes: ab>"}'
    keys: dict[Any, str] = {1: "int key", (1, 2): "tuple key"}
    assert serialize.dumps(keys) == _standard(serialize.to_jsonable(keys))


def test_threads_encoding_one_shared_value_never_see_a_cycle() -> None:
    """The encoder keeps no state between calls: a value several threads encode at once is no cycle."""
    shared = {"rows": [{"id": i, "tags": ["a", "b"], "nested": {"k": [i, i + 1]}} for i in range(200)]}
    expected = _standard(shared)
    results: list[str] = []

    def encode() -> None:
        results.extend(serialize.dumps(shared) for _ in range(200))

    threads = [threading.Thread(target=encode) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 800 and set(results) == {expected}
