"""Tables that stay readable on a narrow terminal.

Rich shares out a table's width in proportion, so on 80 columns a nine-column table ends up with
columns one character wide under a header of ``┃  ┃``. Here each column says what it is worth
(``keep``) and how narrow it may get: columns of least worth are dropped first, the rest shrink
towards their minimum, least worth first, and text that must stay readable (a reason, a message)
wraps instead of being cut. A header is never cut.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from rich import box as boxes
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

__all__ = ["ALWAYS", "Column", "Fitted", "fit_table", "fitted"]

#: The worth of a column that is never dropped.
ALWAYS: Final = 1_000


@dataclass(frozen=True)
class Column:
    """One column: its header, its worth when room runs out, and how it may shrink."""

    header: str
    keep: int = 0
    #: The narrowest it gets (never narrower than its header).
    min_width: int = 0
    justify: Literal["left", "right"] = "left"
    style: str = ""
    #: Long text wraps over several lines instead of being cut with an ellipsis.
    wrap: bool = False
    #: Cut without an ellipsis (a time loses its seconds, not its meaning).
    crop: bool = False
    #: Never narrower than its widest cell (a status, a trace id): kept whole or dropped.
    whole: bool = False


def _width(cell: Text) -> int:
    return max((line.cell_len for line in cell.split("\n")), default=0)


def _text(cell: object, style: str = "") -> Text:
    return cell if isinstance(cell, Text) else Text("" if cell is None else str(cell), style=style)


def _least(column: Column, natural: int) -> int:
    """How narrow ``column`` may get: its header and ``min_width``, or all of it when it must stay whole."""
    header = Text(column.header).cell_len
    if column.whole or (column.crop and header > column.min_width):
        return natural
    return min(natural, max(header, column.min_width) or natural)


def _plan(columns: Sequence[Column], rows: list[list[Text]], width: int, per_column: int) -> dict[int, int]:
    """The columns kept (by index) and their widths, to fit ``width``."""
    natural = [max([Text(c.header).cell_len, *(_width(row[i]) for row in rows)]) for i, c in enumerate(columns)]
    least = [_least(c, natural[i]) for i, c in enumerate(columns)]
    kept = list(range(len(columns)))

    def overflow(widths: dict[int, int]) -> int:
        return sum(widths.values()) + per_column * len(widths) + 1 - width

    while len(kept) > 1 and overflow({i: least[i] for i in kept}) > 0:
        droppable = [i for i in kept if columns[i].keep < ALWAYS]
        if not droppable:
            break
        kept.remove(min(droppable, key=lambda i: (columns[i].keep, -i)))
    widths = {i: natural[i] for i in kept}
    # Shrink the columns of least worth first; text that wraps gives way last.
    for i in sorted(kept, key=lambda i: (columns[i].wrap, columns[i].keep)):
        excess = overflow(widths)
        if excess <= 0:
            break
        cut = min(excess, widths[i] - least[i])
        widths[i] -= widths[i] - least[i] if columns[i].crop and cut else cut  # a time loses whole fields
    return widths


def fit_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[object]],
    width: int,
    *,
    title: str | Text | None = None,
    boxed: bool = True,
    **options: Any,
) -> Table:
    """A table of ``rows`` under ``columns`` that fits ``width`` terminal cells."""
    cells = [[_text(cell, columns[i].style) for i, cell in enumerate(row)] for row in rows]
    widths = _plan(columns, cells, width, 3 if boxed else 2)
    table = Table(
        title=title,
        title_justify="left",
        box=boxes.HEAVY_HEAD if boxed else None,
        pad_edge=boxed,
        **options,
    )
    for i, width_of in widths.items():
        column = columns[i]
        table.add_column(
            column.header,
            justify=column.justify,
            style=column.style,
            width=width_of,
            no_wrap=not column.wrap,
            overflow="fold" if column.wrap else "crop" if column.crop else "ellipsis",
        )
    for row in cells:
        table.add_row(*(row[i] for i in widths))
    return table


class Fitted:
    """A renderable built for the width it is drawn in (a table inside a panel gets the panel's inside)."""

    def __init__(self, build: Callable[[int], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options.max_width)


def fitted(columns: Sequence[Column], rows: Sequence[Sequence[object]], **options: Any) -> Fitted:
    """:func:`fit_table` of ``rows``, laid out when drawn, for the width it is drawn in."""
    return Fitted(lambda width: fit_table(columns, rows, width, **options))
