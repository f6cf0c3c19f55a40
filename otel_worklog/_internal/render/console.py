"""The terminal the CLI prints to, safe for trace text.

Work-log text is often written by a model, so it is untrusted. rich never reads it as
markup here (it goes in as :class:`rich.text.Text`), but rich passes an ESC or a bidi
override in plain text straight to the terminal, where it could recolour, move the
cursor or reorder what the user reads. :class:`SafeConsole` drops those characters from
every piece of text it renders, in one place, whatever the renderable; rich's own
colours are not in the text, so they are kept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import Any, Final

from rich.console import Console
from rich.segment import Segment

__all__ = ["SafeConsole", "clean", "make_console", "strip_controls"]

#: C0 and C1 controls except tab and newline, and the bidi embedding, override and isolate marks.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """``text`` without the characters a terminal would act on."""
    return _CONTROL.sub("", text)


def clean(value: object) -> str:
    """Trace text for one table cell: no control or bidi characters, one line."""
    return strip_controls(str(value).replace("\n", " ").replace("\t", " "))


class SafeConsole(Console):
    """A rich console that never lets a control character of the rendered text reach the terminal."""

    def render(self, renderable: Any, options: Any = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            text = segment.text
            if segment.control is None and _CONTROL.search(text) is not None:
                segment = Segment(strip_controls(text), segment.style)
            yield segment


def make_console(*, stderr: bool = False) -> Console:
    """A safe console that never reads trace text as markup; wide when piped, so tables stay readable."""
    width = None if "COLUMNS" in os.environ else 160
    console = SafeConsole(highlight=False, stderr=stderr, soft_wrap=False)
    if console.is_terminal or width is None:
        return console
    return SafeConsole(highlight=False, stderr=stderr, soft_wrap=False, width=width)
