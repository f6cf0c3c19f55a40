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
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.segment import Segment

from otel_worklog._internal.render.controls import CONTROL, clean, strip_controls

__all__ = ["SafeConsole", "clean", "make_console", "strip_controls"]


class SafeConsole(Console):
    """A rich console that never lets a control character of the rendered text reach the terminal."""

    def render(self, renderable: Any, options: Any = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            text = segment.text
            # A printable text holds none of them (they are all Cc or Cf), and isprintable() is one C pass:
            # a segment passes through here once per renderable it is nested in.
            if segment.control is None and not text.isprintable() and CONTROL.search(text) is not None:
                segment = Segment(strip_controls(text), segment.style)
            yield segment


def make_console(*, stderr: bool = False) -> Console:
    """A safe console that never reads trace text as markup; wide when piped, so tables stay readable."""
    width = None if "COLUMNS" in os.environ else 160
    console = SafeConsole(highlight=False, stderr=stderr, soft_wrap=False)
    if console.is_terminal or width is None:
        return console
    return SafeConsole(highlight=False, stderr=stderr, soft_wrap=False, width=width)
