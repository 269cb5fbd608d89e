"""Read CSV (encoding by :mod:`crmlib.io.encoding`; ``;`` ``,`` tab or ``|``), Excel, Parquet.

Everything is read as text first (``dtype=str``) so that the contracts in
:mod:`crmlib.io.contracts` can name the exact row and value that fails to parse.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd

from .encoding import decode, detect_encoding
from .errors import DataError

EXCEL = {".xlsx", ".xlsm", ".xls"}
PARQUET = {".parquet", ".pq"}


def delimiter(text: str) -> str:
    """The field separator of delimited text (``,`` ``;`` tab or ``|``), sniffed from its
    first 20 lines, else the one most frequent in the header."""
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        first = head.splitlines()[0] if head else ""
        return max(",;\t|", key=first.count)


def read_table(path: str | os.PathLike, sheet: str | int | None = 0) -> pd.DataFrame:
    """Read a CSV, Excel or Parquet file into a DataFrame of strings (Parquet keeps types).

    Raises :class:`DataError` for a missing, empty or unreadable file.
    """
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=path)
    suffix = path.suffix.lower()
    try:
        if suffix in PARQUET:
            df = pd.read_parquet(path)
        elif suffix in EXCEL:
            df = pd.read_excel(path, sheet_name=sheet, dtype=str)
        else:
            text = decode(path.read_bytes(), path)
            if not text.strip():
                raise DataError("the file is empty", file=path)
            df = pd.read_csv(io.StringIO(text), sep=delimiter(text), dtype=str,
                             keep_default_na=False, na_values=[""], skipinitialspace=True)
    except DataError:
        raise
    except Exception as exc:  # parser errors from pandas/pyarrow/openpyxl
        raise DataError(f"cannot read the file: {exc}", file=path) from exc
    df.columns = [str(c).strip() for c in df.columns]
    if len(df.columns) == 0 or len(df) == 0:
        raise DataError("the file has no data rows", file=path)
    df.attrs["excel"] = suffix in EXCEL
    return df


def write_table(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a DataFrame as CSV, Excel or Parquet, chosen by the file suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        df.to_parquet(path, index=False)
    elif suffix in EXCEL:
        df.to_excel(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def read_columns(path: str | os.PathLike) -> list[str]:
    """Column names of a CSV, Excel or Parquet file, read as :func:`read_table` reads them
    (same encoding detection and delimiter), without reading the rows of a large file."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", file=path)
    suffix = path.suffix.lower()
    if suffix in PARQUET:
        import pyarrow.parquet as pq
        return list(pq.read_schema(path).names)
    if suffix in EXCEL:
        return [str(c).strip() for c in pd.read_excel(path, nrows=0).columns]
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    enc = detect_encoding(head)
    text = head.decode("utf-8-sig" if enc in ("utf-8", "utf-8-sig") else enc, errors="ignore")
    lines = text.splitlines()
    if not lines:
        raise DataError("the file is empty", file=path)
    header = next(csv.reader([lines[0]], delimiter=delimiter(text)))
    return [c.strip() for c in header]
