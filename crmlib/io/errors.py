"""The error raised for bad input data, naming file, column, row and value."""
from __future__ import annotations

from typing import Any


VALUE_CHARS = 60  # a value longer than this is cut in messages (one line stays readable)


class DataError(ValueError):
    """Input data that breaks its contract.

    ``row`` is the spreadsheet row number: the header is row 1, the first data
    row is row 2 (the line number in a CSV with one header line).
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
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.value is not None:
            value = self.value.item() if hasattr(self.value, "item") else self.value
            value = repr(value)   # numpy scalars read as plain numbers; long values are cut
            if len(value) > VALUE_CHARS:
                value = value[:VALUE_CHARS - 2] + "…" + value[-1]
            where.append(f"value {value}")
        text = (", ".join(where) + ": " if where else "") + self.message
        if self.more:
            text += f" ({self.more} more row(s) with the same problem)"
        return text


class ParameterError(ValueError):
    """A notebook or command parameter that is unknown, of the wrong type or out of range."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"parameter '{name}': {message}")
