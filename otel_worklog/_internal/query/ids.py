"""Trace and span ids in every encoding a source hands us, normalised to lower-case hex.

Tempo's trace JSON carries base64 ids while its search returns hex with the
leading zeros trimmed (tempo#5437, tempo#4723); OTLP/JSON files carry hex.
Every reader returns 32/16-character hex so the CLI can pass ids between sources.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["is_hex_trace_id", "normalize_span_id", "normalize_trace_id"]

_HEX = re.compile(r"^[0-9a-fA-F]+$")


def _normalize(value: object, size: int) -> str | None:
    if isinstance(value, bytes):
        return value.hex().rjust(size * 2, "0") if len(value) <= size else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if _HEX.match(text) and len(text) <= size * 2 and not (len(text) == _b64_len(size) and text.endswith("=")):
        return text.lower().rjust(size * 2, "0")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(text)
        except (binascii.Error, ValueError):
            return None
    if len(raw) != size:
        return None
    return raw.hex()


def _b64_len(size: int) -> int:
    return 4 * ((size + 2) // 3)


def normalize_trace_id(value: object) -> str | None:
    """32-char hex from hex (any case, zeros trimmed), base64 or bytes; None when it is not an id."""
    text = _normalize(value, 16)
    return None if text is None or text == "0" * 32 else text


def normalize_span_id(value: object) -> str | None:
    text = _normalize(value, 8)
    return None if text is None or text == "0" * 16 else text


def is_hex_trace_id(value: str) -> bool:
    return len(value) == 32 and bool(_HEX.match(value))
