"""Rows on a terminal: a table when it fits the width, one block per row when it does not."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

CELL_PADDING = 3
"""A column's border and padding in a rich table."""


def print_rows(console: Console, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[_cell(value) for value in row] for row in rows]
    if table_width(columns, cells) <= console.width:
        _print_table(console, columns, cells)
    else:
        _print_vertical(console, columns, cells)


def table_width(columns: Sequence[str], cells: Sequence[Sequence[str]]) -> int:
    """The width a table of these cells takes without wrapping any of them."""
    widths = [len(name) for name in columns]
    for row in cells:
        widths = [max(width, _longest_line(cell)) for width, cell in zip(widths, row, strict=True)]
    return sum(widths) + CELL_PADDING * len(widths) + 1


def _print_table(console: Console, columns: Sequence[str], cells: Sequence[Sequence[str]]) -> None:
    table = Table(*columns)
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)


def _print_vertical(
    console: Console, columns: Sequence[str], cells: Sequence[Sequence[str]]
) -> None:
    """Like psql's expanded display: each row a block of ``column | value`` lines."""
    label_width = max((len(name) for name in columns), default=0)
    for number, row in enumerate(cells, start=1):
        console.print(Text(f"-[ row {number} ]" + "-" * max(0, label_width - 7), style="dim"))
        for name, cell in zip(columns, row, strict=True):
            console.print(Text(f"{name:<{label_width}} | {cell}"), soft_wrap=True)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)
