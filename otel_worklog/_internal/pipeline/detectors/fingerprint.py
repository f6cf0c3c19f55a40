"""Error fingerprints: the same failure gets the same key whatever ids, numbers or paths it names.

Error loops are keyed on a fingerprint such as ``git_push_failed``; from traces one is derived from
the exception type and its message with the variable parts masked, so
``Timeout after 30s on /tmp/a1`` and ``Timeout after 45s on /var/x`` count as one error.
"""

from __future__ import annotations

import re
from typing import Final

_MAX_MESSAGE: Final = 160

_MASKS: Final = (
    # URLs before paths (a URL has slashes too).
    (re.compile(r"\b[a-z][a-z0-9+.\-]*://\S+", re.IGNORECASE), "<url>"),
    # UUIDs, then long hex ids (hashes, trace ids, git shas) that contain a digit.
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<id>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE), "<id>"),
    # POSIX and Windows paths.
    (re.compile(r"(?:[A-Za-z]:)?(?:[\\/][\w.\-@~]+){1,}[\\/]?"), "<path>"),
    (re.compile(r"(?:~|\.{1,2})(?:[\\/][\w.\-@~]+)+"), "<path>"),
    # Numbers, with decimals and a short unit glued on (30s, 45.5ms, 10:42:07, 1,024).
    (re.compile(r"(?<![\w\-])[-+]?\d+(?:[.,:]\d+)*(?:[a-z]{1,3})?\b", re.IGNORECASE), "<n>"),
    # Identifiers with digits in them (ve-a1b2, req_123, session42).
    (re.compile(r"\b(?=[\w\-]*\d)[\w\-]+\b"), "<id>"),
)
_SPACES: Final = re.compile(r"\s+")


def normalize_message(message: str) -> str:
    """The message with numbers, ids, URLs and paths replaced by placeholders, whitespace collapsed."""
    text = message[:2000]
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    text = _SPACES.sub(" ", text).strip()
    return text[:_MAX_MESSAGE]


def fingerprint(error_type: str, message: str) -> str:
    """``Type: normalised message``: the key error loops and error clusters group on."""
    kind = (error_type or "Error").strip() or "Error"
    normalized = normalize_message(message or "")
    return f"{kind}: {normalized}" if normalized else kind
