"""Data contracts: one per input, enforced column by column.

Each contract names its columns, their types and allowed values. ``validate``
renames mapped columns, parses every value and raises :class:`DataError`
naming the file, column, spreadsheet row and value of the first violation
(with a count of further rows that share it). Exact duplicate rows are
excluded and counted in the :class:`DataQualityReport`. The contracts are
documented for users in ``data/README.md``.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import parse as P
from .codes import factorize, remember
from .errors import DataError
from .mapping import apply as apply_mapping
from .options import ReadOptions, options_for
from .quality import DataQualityReport


@dataclass(frozen=True)
class Column:
    """One column of a contract.

    kind: ``"id"`` (text key), ``"text"``, ``"date"``, ``"number"``, ``"int"``, ``"flag"``
    (1/0, true/false, yes/no, y/n; read as 1/0).
    """

    name: str
    kind: str = "text"
    required: bool = True
    nullable: bool = False
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class Contract:
    """The columns an input must have, plus pattern-matched (prefixed) columns."""

    name: str
    columns: tuple[Column, ...]
    patterns: tuple[tuple[str, Column], ...] = field(default_factory=tuple)
    drop_duplicates: bool = True

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        for pattern, col in self.patterns:
            if re.fullmatch(pattern, name):
                return Column(name, col.kind, False, col.nullable, col.choices, col.min, col.max)
        return None


TRANSACTIONS = Contract("transactions", (
    Column("customer_id", "id"), Column("date", "date"), Column("amount", "number"),
    Column("order_id", "id", required=False, nullable=True),
    Column("channel", "text", required=False, nullable=True),
    Column("segment", "text", required=False, nullable=True),
), drop_duplicates=False)  # identical rows are separate purchases (see crmlib.clv.summary)

SUBSCRIPTIONS = Contract("subscriptions", (
    Column("customer_id", "id"), Column("start_date", "date"),
    Column("end_date", "date", nullable=True),
    Column("plan", "text", required=False, nullable=True),
    Column("monthly_fee", "number", required=False, nullable=True, min=0),
))

SURVEY = Contract("satisfaction survey", (
    Column("respondent_id", "id"),
    Column("customer_id", "id", required=False, nullable=True),
    Column("segment", "text", required=False, nullable=True),
    Column("overall_satisfaction", "number", required=False, nullable=True),
), patterns=(
    (r"[EPI]_.+", Column("", "number", nullable=True)),
    (r"K[FD]_.+", Column("", "int", nullable=True, choices=(1, 2, 3, 4, 5))),
))

ITEMS = Contract("item catalogue", (
    Column("item", "id"), Column("dimension", "text"), Column("label", "text"),
    Column("reverse", "flag", required=False, nullable=True),
))

ASSESSMENT = Contract("assessment responses", (
    Column("respondent_id", "id"), Column("group", "text"), Column("capability", "id"),
    Column("current_stage", "int", nullable=True, choices=(1, 2, 3, 4)),
    Column("target_stage", "int", required=False, nullable=True, choices=(1, 2, 3, 4)),
))

CAPABILITIES = Contract("capability catalogue", (
    Column("capability", "id"), Column("name", "text", required=False, nullable=True),
    Column("driver", "text"), Column("description", "text"),
    Column("stage_1", "text", required=False, nullable=True),
    Column("stage_2", "text", required=False, nullable=True),
    Column("stage_3", "text", required=False, nullable=True),
    Column("stage_4", "text", required=False, nullable=True),
))

KPI_PANEL = Contract("KPI panel", (
    Column("date", "date"), Column("unit_id", "id"),
    Column("group", "text", choices=("pilot", "control")),
    Column("kpi", "id"), Column("value", "number", nullable=True),
))

CONTRACTS = {c.name: c for c in (TRANSACTIONS, SUBSCRIPTIONS, SURVEY, ITEMS, ASSESSMENT,
                                 CAPABILITIES, KPI_PANEL)}

def _fail(series: pd.Series, bad: pd.Series, msg: str, file: Any, column: str) -> None:
    idx = np.flatnonzero(bad.to_numpy())
    if len(idx):
        i = idx[0]
        value = series.iloc[i]
        raise DataError(msg, file=file, column=column, row=source_row(series.to_frame(), int(i)),
                        value=None if pd.isna(value) else value, more=len(idx) - 1)


def _parse(series: pd.Series, col: Column, file: Any, options: ReadOptions,
           excel: bool = False) -> pd.Series:
    """The typed column; text is read once per distinct value (see :func:`_parse_distinct`)."""
    if len(series) >= DISTINCT_MIN_ROWS and (series.dtype == object
                                              or isinstance(series.dtype, pd.StringDtype)):
        return _parse_distinct(series, col, file, options, excel)
    return _parse_rows(series, col, file, options, excel)


DISTINCT_MIN_ROWS = 5_000


def _parse_distinct(series: pd.Series, col: Column, file: Any, options: ReadOptions,
                    excel: bool) -> pd.Series:
    """Parse each distinct value once, then spread the results over the rows.

    A log of millions of rows holds a few hundred distinct dates and a few thousand
    customers; reading every row's text would repeat the same work. Each distinct value
    keeps the source row of its first occurrence, so the first problem is still the
    first row; on a problem the rows are read again one by one for the exact count.
    """
    codes, uniq = _factorize_with_missing(series)
    if len(uniq) > len(series) // 2:
        return _parse_rows(series, col, file, options, excel)
    seen = np.maximum.accumulate(codes)  # codes are numbered in order of appearance
    first = np.flatnonzero(np.r_[True, seen[1:] > seen[:-1]])
    distinct = pd.Series(uniq, index=series.index[first], dtype=series.dtype)
    try:
        typed = _parse_rows(distinct, col, file, options, excel)
    except DataError:
        return _parse_rows(series, col, file, options, excel)
    if isinstance(typed.dtype, pd.StringDtype) and isinstance(series.dtype, pd.StringDtype):
        same = typed.astype(object).to_numpy() == distinct.astype(object).to_numpy()
        if same.all():  # trimmed text equal to the text read: no copy of the column
            out = series.astype(typed.dtype)
            remember(out, codes, uniq.astype(typed.dtype))   # for the CLV summary
            return out
    return pd.Series(typed.array.take(codes), index=series.index, name=series.name)


def _factorize_with_missing(series: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(series, use_na_sentinel=False)``: a missing value is a distinct value of
    its own, numbered where it first occurs. Factorized with the sentinel and renumbered:
    pandas' own path for object columns first builds a missing-value mask over every row.
    Arrow text without missing values is factorized once (:func:`crmlib.io.codes.factorize`)."""
    codes, uniq = factorize(series)
    missing = codes < 0
    if not missing.any():
        return codes, uniq
    at = int(np.argmax(missing))
    k = int(codes[:at].max()) + 1 if at else 0  # codes seen before the first missing value
    codes = np.where(codes >= k, codes + 1, codes)
    codes[missing] = k
    return codes, uniq.insert(k, None)


def _parse_rows(series: pd.Series, col: Column, file: Any, options: ReadOptions,
                excel: bool = False) -> pd.Series:
    raw = series
    missing = raw.isna()
    if not (pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_datetime64_any_dtype(raw)
            or pd.api.types.is_bool_dtype(raw)):
        missing = missing | (raw.astype("string").str.strip() == "").fillna(False)
    if not col.nullable:
        _fail(raw, missing, "a value is required", file, col.name)
    if col.kind in ("id", "text"):
        out = raw.astype("string").str.strip().where(~missing, pd.NA)
        if col.choices is not None:
            out = out.str.lower()
            bad = out.notna() & ~out.isin(list(col.choices))
            _fail(raw, bad, f"allowed values are {list(col.choices)}", file, col.name)
        return out
    if col.kind == "date":
        if pd.api.types.is_datetime64_any_dtype(raw):
            return P.parse_dates(raw, "", file=file, column=col.name)
        fmt = P.infer_date_format(raw, file=file, column=col.name, excel=excel,
                                  declared=options.date_format_of(col.name))
        return P.parse_dates(raw, fmt, file=file, column=col.name, excel=excel)
    if col.kind == "flag":
        return P.parse_flags(raw, file=file, column=col.name)
    out = None if pd.api.types.is_numeric_dtype(raw) else P.plain_integers(raw)
    if out is None:
        nfmt: P.NumberFormat | None = None
        if not pd.api.types.is_numeric_dtype(raw):
            nfmt = P.infer_number_format(raw, file=file, column=col.name,
                                         decimal=options.decimal, thousands=options.thousands,
                                         currency=options.currency)
        out = P.parse_numbers(raw, nfmt, file=file, column=col.name, currency=options.currency)
    if col.kind == "int":
        _fail(raw, out.notna() & (out != np.round(out)), "not a whole number", file, col.name)
    if col.choices is not None:
        bad = out.notna() & ~out.isin([float(c) for c in col.choices])
        _fail(raw, bad, f"allowed values are {list(col.choices)}", file, col.name)
    if col.min is not None:
        _fail(raw, out < col.min, f"must be at least {col.min}", file, col.name)
    if col.max is not None:
        _fail(raw, out > col.max, f"must be at most {col.max}", file, col.name)
    return out.astype("Int64") if col.kind == "int" else out


_problems: ContextVar[list | None] = ContextVar("crmlib_contract_problems", default=None)


@contextmanager
def collect_problems() -> Iterator[list[DataError]]:
    """Within the block, :func:`validate` checks every column before it raises, and the
    returned list receives one :class:`DataError` per bad column (``crm validate``)."""
    bucket: list[DataError] = []
    token = _problems.set(bucket)
    try:
        yield bucket
    finally:
        _problems.reset(token)


def validate(df: pd.DataFrame, contract: Contract, *, file: Any = None,
             mapping: dict[str, str] | None = None,
             quality: DataQualityReport | None = None,
             options: ReadOptions | None = None) -> pd.DataFrame:
    """Check ``df`` against ``contract`` and return a typed copy.

    Parameters
    ----------
    df : DataFrame as read (strings, or typed from Parquet).
    contract : the input's :class:`Contract`.
    file : name used in error messages (path or label).
    mapping : contract column → client column, for files whose headers differ.
    quality : ledger that receives the read count and excluded duplicates.
    options : the input's declared date format, separators and currency (default: those
        declared for ``file`` in the configuration, see :mod:`crmlib.io.options`).
    """
    file = file if file is not None else contract.name
    first_row, rows = int(df.attrs.get("first_row", 2)), df.attrs.get("source_rows")
    options = options or options_for(file if isinstance(file, (str, Path)) else None)
    excel = bool(df.attrs.get("excel"))
    df = apply_mapping(df, mapping, contract=contract, file=file)
    df.index = (pd.Index(rows, name="source_row") if rows is not None
                else pd.RangeIndex(first_row, len(df) + first_row, name="source_row"))
    own = {std: c for std, c in (mapping or {}).items() if std != c}
    out, found = {}, []
    for name in df.columns:
        col = contract.column(name)
        try:
            out[name] = _parse(df[name], col, file, options, excel) if col else df[name]
        except DataError as exc:   # name the client's column, as the consultant sees it
            if exc.column in own:
                exc.message += f" (column mapped to '{exc.column}')"
                exc.column = own[exc.column]
                exc.args = (str(exc),)
            bucket = _problems.get()
            if bucket is None:
                raise
            bucket.append(exc)          # collecting: go on with the next column
            found.append(exc)
    if found:
        raise found[0]
    typed = pd.DataFrame(out, index=df.index)
    typed.attrs["source"] = str(file)
    if quality is not None:
        quality.add_read(contract.name, len(typed))
    if contract.drop_duplicates:
        dup = typed.duplicated(keep="first")
        if quality is not None:
            first = int(typed.index[dup.to_numpy()][0]) if dup.any() else None
            quality.exclude(contract.name, "exact duplicate row", int(dup.sum()),
                            f"row {first}" if first else None)
        typed = typed.loc[~dup]
    return typed


def columns_matching(df: pd.DataFrame, prefix: str) -> list[str]:
    """Columns of ``df`` whose name starts with ``prefix`` (e.g. ``"E_"``)."""
    return [c for c in df.columns if c.startswith(prefix)]


def require_unique(df: pd.DataFrame, keys: Sequence[str], file: Any) -> None:
    """Raise DataError when ``keys`` do not identify rows uniquely."""
    dup = df.duplicated(list(keys), keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(f"{'/'.join(keys)} must be unique", file=file, column=keys[0],
                        row=source_row(df, i), value=df[keys[0]].iloc[i], more=int(dup.sum()) - 1)


def source_row(df: pd.DataFrame, position: int) -> int:
    """Spreadsheet row number of the row at ``position`` (header = row 1)."""
    if df.index.name == "source_row":
        return int(df.index[position])
    return int(position) + 2
