"""Turn arbitrary Python values into bounded, valid JSON strings.

Tool arguments and results can be anything: recursive structures, bytes,
objects whose ``__repr__`` raises, megabytes of text. Whatever arrives, the
span gets a readable string of at most ``limit`` characters, and when that
string is JSON it stays valid JSON, with the cut marked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any, Final

TRUNCATION_MARK: Final = "…[truncated {n} chars]"
#: Structure nested deeper than this is cut and marked, here and in the scrubber's walk.
MAX_DEPTH: Final = 32
MAX_DEPTH_MARK: Final = "<max depth>"
_encoder = json.JSONEncoder(ensure_ascii=False, check_circular=True, allow_nan=False, separators=(", ", ": "))


def _prebuilt_encoder() -> Callable[[Any, int], Any] | None:
    """The C encoder ``_encoder.encode`` builds on every call, built once (every tool call encodes its
    arguments and its result). Without the circular check it keeps no state between calls, so threads
    share it; a cycle ends in RecursionError, which takes :func:`dumps`'s careful path. None without
    the C accelerator, or where its signature is not the one this was written for."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        built = make(
            None,
            _encoder.default,
            json.encoder.encode_basestring,
            None,
            _encoder.key_separator,
            _encoder.item_separator,
            False,
            False,
            False,
        )
        return built if "".join(built({"a": [1, "é"]}, 0)) == _encoder.encode({"a": [1, "é"]}) else None  # type: ignore[no-any-return]
    except Exception:
        return None


_fast_encoder: Final = _prebuilt_encoder()


def clean_text(text: str) -> str:
    """``text`` made valid UTF-8: OTLP requires it, and one lone surrogate (a non-UTF-8 file name
    decoded with ``os.fsdecode``) would make the whole export batch fail to encode."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def safe_repr(value: Any) -> str:
    """``repr(value)``, or a description of the value when its ``__repr__`` raises."""
    try:
        text = repr(value)
    except Exception as exc:  # a user's broken __repr__ must not break the work log
        return f"<{type(value).__name__} object (repr failed: {type(exc).__name__})>"
    return text if isinstance(text, str) else f"<{type(value).__name__} object>"


def _default(value: Any) -> Any:
    """A JSON-able stand-in for ``value``; user objects may raise from any attribute access."""
    try:
        return _convert(value)
    except Exception:
        return safe_repr(value)


def _convert(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        preview = raw[:64].decode("utf-8", errors="replace")
        return f"<{len(raw)} bytes: {preview}{'…' if len(raw) > 64 else ''}>"
    if isinstance(value, set | frozenset):
        return sorted(safe_repr(item) for item in value)
    for attr in ("model_dump", "_asdict"):
        try:
            method = getattr(value, attr, None)
            if callable(method):
                return method()
        except Exception:
            break
    fields = getattr(value, "__dataclass_fields__", None)
    if isinstance(fields, dict):
        return {name: getattr(value, name) for name in fields}
    return safe_repr(value)


def to_jsonable(value: Any, depth: int = 0, seen: frozenset[int] = frozenset()) -> Any:
    """A plain JSON-compatible copy of ``value``: cycles, bytes and odd objects become strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_DEPTH:
        return MAX_DEPTH_MARK
    ident = id(value)
    if ident in seen:
        return "<recursive reference>"
    inner = seen | {ident}
    if isinstance(value, Mapping):
        try:
            items = list(value.items())
        except Exception:
            return safe_repr(value)
        return {_key(k): to_jsonable(v, depth + 1, inner) for k, v in items}
    if isinstance(value, list | tuple):
        return [to_jsonable(item, depth + 1, inner) for item in value]
    converted = _default(value)
    if isinstance(converted, str):
        return converted
    return to_jsonable(converted, depth + 1, inner)


def _key(key: Any) -> str:
    return key if isinstance(key, str) else safe_repr(key)


def dumps(value: Any) -> str:
    """JSON text of any value; never raises."""
    try:
        return "".join(_fast_encoder(value, 0)) if _fast_encoder is not None else _encoder.encode(value)
    except (TypeError, ValueError, RecursionError):
        # Recursive, non-finite or non-JSON values: take the slow, careful path.
        try:
            return _encoder.encode(to_jsonable(value))
        except Exception:
            return json.dumps(safe_repr(value), ensure_ascii=False)
    except Exception:
        return json.dumps(safe_repr(value), ensure_ascii=False)


def truncate_text(text: str, limit: int) -> tuple[str, bool]:
    """Cut plain text to ``limit`` characters, marking how much was cut."""
    if len(text) <= limit:
        return text, False
    mark = TRUNCATION_MARK.format(n=len(text) - limit)
    keep = max(0, limit - len(mark))
    return text[:keep] + mark, True


def truncate_json(value: Any, text: str, limit: int) -> tuple[str, bool]:
    """Shrink the JSON form ``text`` of ``value`` below ``limit``, keeping it valid JSON.

    Long strings are shortened and long lists thinned first, with the cut marked
    inside the data, so the structure a reader expects survives.
    """
    if len(text) <= limit:
        return text, False
    data = to_jsonable(value)
    budget = max(16, limit // 2)
    for _ in range(12):
        shrunk = _shrink(data, budget)
        out = _encoder.encode(shrunk)
        if len(out) <= limit:
            return out, True
        budget = max(8, budget // 2)
    preview, _ = truncate_text(text, max(0, limit - 64))
    return _encoder.encode({"_truncated": True, "preview": preview})[:limit], True


def _shrink(value: Any, budget: int) -> Any:
    if isinstance(value, str):
        return truncate_text(value, budget)[0]
    if isinstance(value, dict):
        return {k: _shrink(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        keep = max(1, budget // 16)
        head = [_shrink(item, budget) for item in value[:keep]]
        if len(value) > keep:
            head.append(f"…[{len(value) - keep} more items]")
        return head
    return value
