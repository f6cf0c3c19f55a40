"""The characters of trace text that a terminal (or a browser's bidi algorithm) would act on.

Work-log text is often written by a model, so it is untrusted: an ESC sequence can recolour the
terminal, move the cursor or set its title, a C1 control can do the same on terminals that read
8-bit controls, BEL rings, and a bidi override reorders what the reader sees. Every view drops
them (the terminal, the reports); JSON keeps them, escaped (``\\u001b``), so the data is unchanged.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["CONTROL", "clean", "escape_in_json", "strip_controls"]

#: C0 and C1 controls except tab and newline, and the bidi embedding, override and isolate marks.
CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: What JSON writes raw when it does not escape to ASCII: C1 controls and the bidi marks (C0 it escapes).
_RAW_IN_JSON: Final = re.compile(r"[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """``text`` without the characters a terminal would act on."""
    return CONTROL.sub("", text)


def clean(value: object) -> str:
    """Trace text for one table cell: no control or bidi characters, one line."""
    return strip_controls(str(value).replace("\n", " ").replace("\t", " "))


def escape_in_json(text: str) -> str:
    """JSON text with the controls and bidi marks it would write raw escaped as ``\\uXXXX`` (same data)."""
    return _RAW_IN_JSON.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
