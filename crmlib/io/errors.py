"""The error raised for bad input data, naming file, column, row and value."""
from __future__ import annotations

from typing import Any

VALUE_LIMIT = 80
"""Longest text a message shows of one value; a longer value is cut, its length stated."""


def shorten(value: Any, limit: int = VALUE_LIMIT) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with the full length stated.

    >>> shorten("ab")
    "'ab'"
    >>> shorten("x" * 200_000, limit=12)
    "'xxxxxxxxxx… (200000 characters)"
    """
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()  # numpy scalars read as plain numbers
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        size = f"{len(value)} characters"
    elif isinstance(value, (bytes, bytearray)):
        size = f"{len(value)} bytes"
    elif isinstance(value, (list, tuple, set, frozenset, dict)):
        size = f"{type(value).__name__} of {len(value)} items"
    else:
        size = f"{len(text)} characters"
    return f"{text[:limit - 1]}… ({size})"


class DataError(ValueError):
    """Input data that breaks its contract.

    ``row`` is the spreadsheet row number: the header is row 1, the first data
    row is row 2 (the line number in a CSV with one header line). A ``value``
    longer than :data:`VALUE_LIMIT` characters is shown shortened (:func:`shorten`).
    """

    def __init__(self, message: str, *, file: Any = None, column: str | None = None,
                 row: int | None = None, value: Any = None, more: int = 0):
        self.message, self.file, self.column = message, file, column
        self.row, self.value, self.more = row, value, more
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.column is not None:
            column = str(self.column)
            where.append(f"column '{column}'" if len(column) <= VALUE_LIMIT
                         else f"column {shorten(column)}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.value is not None:
            where.append(f"value {shorten(self.value)}")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.more:
            text += f" ({self.more} more row(s) with the same problem)"
        return text


class ParameterError(ValueError):
    """A notebook or command parameter that is unknown, of the wrong type or out of range."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"parameter '{name}': {message}")
