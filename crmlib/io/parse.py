"""Reading values: one date format and one number format per column, inferred from all values.

Every engine reads a column the same way: :func:`infer_date_format` and
:func:`infer_number_format` look at every distinct value of the column (the
DuckDB and Spark engines pass one representative per shape) and either return
the single format that fits them all or stop with a :class:`DataError` that
names the file, column, row and value and says what to declare. Nothing is
guessed row by row.

Dates: ISO ``yyyy-mm-dd``, ``dd.mm.yyyy``, ``dd/mm/yyyy``, ``mm/dd/yyyy``,
``yyyymmdd``, each optionally followed by a time (``HH:MM[:SS[.fff]]``, after a
blank or ``T``, an ISO zone suffix is ignored: the wall-clock date counts), and
Excel serial days in Excel files. When both ``dd/mm/yyyy`` and ``mm/dd/yyyy``
fit every value the column is ambiguous and a ``date_format`` must be declared.
Words and relative dates (``today``, ``May 7 2024``) are never dates.

Numbers: decimal and thousands separators are inferred per column (``1,234.50``,
``1.234,50``, ``1 234,50``, ``1'234.50``); when two readings give different
values (``1,234`` alone) the column is ambiguous and ``decimal`` must be
declared. ``inf``, ``NaN`` and numbers too large for a double are refused;
currency symbols are stripped only for the currency the input declares.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError

# ---------------------------------------------------------------------------- dates
CLOCK = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?"
_TIME = rf"(?:[ T](?P<time>{CLOCK})(?:\s*(?:Z|[+-]\d{{2}}:?\d{{2}}))?)?"
DATE_SHAPES = {  # shape → (regex of the date part, strptime formats that may read it)
    "iso": (r"\d{4}-\d{1,2}-\d{1,2}", ("%Y-%m-%d",)),
    "compact": (r"\d{8}", ("%Y%m%d",)),
    "dots": (r"\d{1,2}\.\d{1,2}\.\d{4}", ("%d.%m.%Y",)),
    "slashes": (r"\d{1,2}/\d{1,2}/\d{4}", ("%d/%m/%Y", "%m/%d/%Y")),
    "serial": (r"\d{5}(?:\.\d+)?", ("excel",)),
}
DATE_RE = {k: re.compile(f"^(?P<date>{rx}){_TIME if k != 'serial' else ''}$")
            for k, (rx, _) in DATE_SHAPES.items()}
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
DATE_FORMATS = tuple(f for _, fmts in DATE_SHAPES.values() for f in fmts)
DATE_HELP = ("dates must be yyyy-mm-dd, dd.mm.yyyy, dd/mm/yyyy, mm/dd/yyyy or yyyymmdd "
             "(optionally with a time)")


def _first_row(values: pd.Series, bad: pd.Series) -> tuple[int, Any, int]:
    """Spreadsheet row, value and further count of the first ``bad`` entry."""
    idx = np.flatnonzero(np.asarray(bad, dtype=bool))
    pos = int(idx[0])
    label = values.index[pos]
    if values.index.name == "source_row":
        row = label
    elif isinstance(values.index, pd.RangeIndex) or pd.api.types.is_integer(label):
        row = int(label) + 2
    else:
        row = pos + 2
    return int(row), values.iloc[pos], len(idx) - 1


def _fail(msg: str, values: pd.Series, bad: pd.Series, file, column) -> None:
    if bad.any():
        row, value, more = _first_row(values, bad)
        raise DataError(msg, file=file, column=column, row=row, value=value, more=more)


def _strip(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.strip()
    return text.mask(text == "")


def date_shape(text: pd.Series, excel: bool) -> pd.Series:
    """The shape name of each text date (``<NA>`` when it has none)."""
    out = pd.Series(pd.NA, index=text.index, dtype="string")
    for name, rx in DATE_RE.items():
        if name == "serial" and not excel:
            continue
        hit = out.isna() & text.str.match(rx.pattern, na=False)
        out = out.mask(hit, name)
    return out


FORMAT_NAMES = {"%Y-%m-%d": "yyyy-mm-dd", "%Y%m%d": "yyyymmdd", "%d.%m.%Y": "dd.mm.yyyy",
                "%d/%m/%Y": "dd/mm/yyyy", "%m/%d/%Y": "mm/dd/yyyy", "excel": "Excel serial days"}
WORDS = "words and relative dates are not accepted"


def date_problem(value, fmt: str, excel: bool = False) -> str:
    """Why ``value`` is no date of a column read with ``fmt`` (the message every engine gives)."""
    name = FORMAT_NAMES.get(fmt, fmt)
    if fmt not in DATE_FORMATS:
        return f"not a date in the declared date_format {fmt}"
    shape = date_shape(pd.Series([str(value).strip()], dtype="string"), excel).iloc[0]
    if pd.isna(shape):
        return f"not a date: {DATE_HELP}; {WORDS}"
    if fmt not in DATE_SHAPES[shape][1]:
        return f"not a date in the column's format {name}: one format per column"
    return f"not a date in the column's format {name}"


def _fail_dates(values: pd.Series, bad, fmt: str, excel: bool, file, column) -> None:
    if np.asarray(bad, dtype=bool).any():
        row, value, more = _first_row(values, bad)
        raise DataError(date_problem(value, fmt, excel), file=file, column=column, row=row,
                        value=value, more=more)


def infer_date_format(values: pd.Series, *, file=None, column=None, excel: bool = False,
                      declared: str | None = None, strict: bool = True) -> str:
    """The one date format that reads every non-empty value of ``values``.

    Parameters
    ----------
    values : text dates (index ``source_row`` or positional).
    excel : accept Excel serial day numbers (the file is an Excel workbook).
    declared : a strptime format the input declares (``date_format``); returned as is.
    strict : stop at a value the format cannot read; engines that check every row
        themselves pass False and only ambiguity stops.

    Returns
    -------
    A strptime format of the date part (``"%d/%m/%Y"``) or ``"excel"``.

    Raises
    ------
    DataError
        Naming a value that is no date, a column mixing formats, or a column where
        day-first and month-first both fit (declare ``date_format``).
    """
    if declared:
        return declared
    text = _strip(values).dropna()
    if text.empty:
        return "%Y-%m-%d"
    shape = date_shape(text, excel)
    if shape.isna().all():
        if strict:
            _fail_dates(text, pd.Series(True, index=text.index), "%Y-%m-%d", excel, file,
                        column)
        return "%Y-%m-%d"
    main = str(shape.value_counts().index[0])
    fmts = DATE_SHAPES[main][1]
    fmt = fmts[0]
    if len(fmts) == 2:
        mine = text[shape == main]
        parts = mine.str.extract(r"^(\d{1,2})/(\d{1,2})/")
        fit = {f: _fits(parts, f) for f in fmts}
        good = [f for f in fmts if fit[f].all()]
        if len(good) == 2:
            _fail("day and month cannot be told apart: every value fits both dd/mm/yyyy and "
                  "mm/dd/yyyy; declare the input's date_format: '%d/%m/%Y' or '%m/%d/%Y'",
                  mine, mine == mine.iloc[0], file, column)
        fmt = good[0] if good else max(fmts, key=lambda f: fit[f].sum())
        if strict and not good:
            _fail_dates(mine, ~fit[fmt], fmt, excel, file, column)
    if strict:
        _fail_dates(text, (shape != main).fillna(True), fmt, excel, file, column)
    return fmt


def _fits(parts: pd.DataFrame, fmt: str) -> np.ndarray:
    a, b = parts[0].astype(int), parts[1].astype(int)
    day, month = (a, b) if fmt.startswith("%d") else (b, a)
    return (month.between(1, 12) & day.between(1, 31)).to_numpy()


def _clock(text: pd.Series) -> pd.Series:
    """Time of day after the date part as a timedelta (0 when there is none)."""
    time = text.str.extract(f"[ T]({CLOCK})")[0].str.replace(",", ".", regex=False)
    time = time.where(time.str.count(":") == 2, time + ":00")
    return pd.to_timedelta(time, errors="coerce").fillna(pd.Timedelta(0))


def _strptime(uniq: pd.Series, fmt: str) -> pd.Series:
    """Python's strptime value by value (no special words such as 'today' or 'now')."""
    def one(v):
        try:
            return dt.datetime.strptime(v, fmt)
        except ValueError:
            return pd.NaT
    return pd.Series([one(v) for v in uniq], index=uniq.index, dtype="datetime64[ns]")


def parse_dates(values: pd.Series, fmt: str, *, file=None, column=None,
                excel: bool = False) -> pd.Series:
    """Read text dates with the column's format; a value it cannot read stops with its row."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
    text = _strip(values)
    uniq = pd.Series(text.dropna().unique(), dtype="string")
    if fmt == "excel":
        days = pd.to_numeric(uniq.where(uniq.str.fullmatch(r"\d{5}(?:\.\d+)?")),
                             errors="coerce")
        parsed = EXCEL_EPOCH + pd.to_timedelta(days, unit="D")
    elif fmt in DATE_FORMATS:
        shape = next(k for k, (_, fmts) in DATE_SHAPES.items() if fmt in fmts)
        ok = uniq.str.match(DATE_RE[shape].pattern, na=False)
        date = uniq.str.extract(r"^(\S+?)(?:[ T]|$)")[0]
        parsed = _strptime(date.where(ok, ""), fmt) + _clock(uniq)
    else:
        parsed = _strptime(uniq, fmt)
    lookup = pd.Series(parsed.to_numpy(), index=uniq.to_numpy())
    out = pd.Series(lookup.reindex(text.fillna("")).to_numpy(), index=values.index)
    out = pd.to_datetime(out).astype("datetime64[ns]")
    _fail_dates(values, text.notna() & out.isna(), fmt, excel, file, column)
    return out


# -------------------------------------------------------------------------- numbers
CURRENCY_SYMBOLS = {
    "EUR": ("€", "EUR"), "USD": ("US$", "$", "USD"), "GBP": ("£", "GBP"),
    "CHF": ("CHF", "Fr.", "SFr."), "JPY": ("¥", "JPY"), "CNY": ("¥", "CNY", "RMB"),
    "SEK": ("kr", "SEK"), "NOK": ("kr", "NOK"), "DKK": ("kr.", "kr", "DKK"),
    "PLN": ("zł", "PLN"), "CZK": ("Kč", "CZK"), "INR": ("₹", "INR"), "RUB": ("₽", "RUB"),
    "CAD": ("CA$", "C$", "$", "CAD"), "AUD": ("A$", "$", "AUD"), "BRL": ("R$", "BRL"),
}
_SEPARATORS = ((".", ""), (".", ","), (",", ""), (",", "."), (",", " "), (".", " "),
               (".", "'"))
_SCI = r"[+-]?(?:\d+\.?\d*|\.\d+)[eE][+-]?\d+"


@dataclass(frozen=True)
class NumberFormat:
    """Decimal and thousands separators of a column (``thousands`` ``""`` = none)."""

    decimal: str = "."
    thousands: str = ""

    def pattern(self) -> str:
        d, t = re.escape(self.decimal), re.escape(self.thousands)
        whole = rf"(?:\d{{1,3}}(?:{t}\d{{3}})+|\d+)" if self.thousands else r"\d+"
        plain = rf"[+-]?(?:{whole}(?:{d}\d*)?|{d}\d+)"
        return f"^(?:{plain}|{_SCI})$" if self.decimal == "." else f"^{plain}$"

    def to_float(self, text: pd.Series) -> pd.Series:
        """Values matching :meth:`pattern` as floats (an overflow gives ±inf), others NaN."""
        text = text.astype("string")
        uniq = pd.Series(text.dropna().unique(), dtype="string")
        ok = uniq.str.match(self.pattern(), na=False)
        plain = uniq
        if self.thousands:
            plain = plain.str.replace(self.thousands, "", regex=False)
        if self.decimal != ".":
            plain = plain.str.replace(self.decimal, ".", regex=False)
        num = [float(v) if good else np.nan for v, good in zip(plain, ok)]
        lookup = pd.Series(num, index=uniq.to_numpy(), dtype=float)
        return pd.Series(lookup.reindex(text.fillna("\x00")).to_numpy(), index=text.index,
                         dtype=float)


def _strip_currency(text: pd.Series, currency: str | None) -> pd.Series:
    text = text.str.replace("\u00a0", " ", regex=False).str.replace("\u202f", " ", regex=False)
    if currency:
        for sym in sorted(CURRENCY_SYMBOLS.get(currency.upper(), ()) + (currency.upper(),),
                          key=len, reverse=True):
            text = text.str.replace(sym, "", regex=False)
    return text.str.strip()


def number_problem(value, currency: str | None = None) -> str:
    """Why ``value`` is no number (the message every engine gives)."""
    text = str(value).strip()
    if re.fullmatch(_SCI, text) and np.isinf(float(text)):
        return "not a finite number"
    if not currency and re.search(r"[€$£¥₹₽]|\b[A-Z]{3}\b", text):
        return ("not a number; currency symbols are accepted only when the input declares "
                "its currency")
    return "not a number"


def infer_number_format(values: pd.Series, *, file=None, column=None,
                        decimal: str | None = None, thousands: str | None = None,
                        currency: str | None = None, strict: bool = True) -> NumberFormat:
    """The separators that read every non-empty value of ``values`` the same way.

    Parameters
    ----------
    values : text numbers.
    decimal, thousands : separators the input declares (``thousands=""`` for none).
    currency : the input's currency (ISO code); its symbols are stripped.
    strict : stop at a value no separators read (else: keep the pair most values fit).

    Raises
    ------
    DataError
        A value no separator pair reads (naming row and value), or a column two readings
        disagree on (``1,234``: declare ``decimal``).
    """
    text = _strip_currency(_strip(values).dropna(), currency)
    cands = [NumberFormat(d, t) for d, t in _SEPARATORS
             if (decimal is None or d == decimal) and (thousands is None or t == thousands)]
    if decimal is not None and thousands is not None and not cands:
        cands = [NumberFormat(decimal, thousands)]
    if text.empty:
        return cands[0]
    uniq = pd.Series(text.unique(), dtype="string")
    fits = {c: uniq.str.match(c.pattern(), na=False).to_numpy() for c in cands}
    good = [c for c in cands if fits[c].all()]
    if not good and not strict:
        most = max(fits[c].sum() for c in cands)
        good = [c for c in cands if fits[c].sum() == most]
        uniq = uniq[fits[good[0]]]
        fits = {c: fits[c][fits[good[0]]] for c in good}
        good = [c for c in good if fits[c].all()]
    if not good:
        best = max(cands, key=lambda c: fits[c].sum())
        bad = text.isin(set(uniq[~fits[best]]))
        row, value, more = _first_row(_strip(values).dropna(), bad)
        raise DataError(number_problem(value, currency), file=file, column=column, row=row,
                        value=value, more=more)
    readings = {c: c.to_float(uniq) for c in good}
    first = good[0]
    for other in good[1:]:
        differ = ~np.isclose(readings[first], readings[other], rtol=0, atol=0, equal_nan=True)
        if differ.any():
            example = uniq[differ].iloc[0]
            _fail(f"decimal separator ambiguous: reads as {readings[first][differ].iloc[0]:g} "
                  f"or {readings[other][differ].iloc[0]:g}; declare the input's decimal "
                  "('.' or ',') and thousands separator", _strip(values).dropna(),
                  text == example, file, column)
    return first


_PLAIN_INTEGER = re.compile(r"[+-]?\d{1,15}")


def plain_integers(values: pd.Series, max_distinct: int = 1_000) -> pd.Series | None:
    """Floats of a text column whose every non-empty value is a plain whole number (``7``,
    ``-3``), read the same by every separator pair; None for any other column.

    The common survey answer column, read without the separator inference.
    """
    uniq = pd.unique(values.dropna())
    if len(uniq) > max_distinct:
        return None
    lookup = {}
    for v in uniq:
        text = str(v).strip()
        if text and not _PLAIN_INTEGER.fullmatch(text):
            return None
        lookup[v] = float(text) if text else np.nan
    return values.map(lookup).astype(float)


def parse_numbers(values: pd.Series, fmt: NumberFormat | None = None, *, file=None,
                  column=None, currency: str | None = None) -> pd.Series:
    """Read numbers with the column's separators; infinities and NaN stop with their row."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values):
        out = values.astype(float)
    else:
        fmt = fmt or infer_number_format(values, file=file, column=column, currency=currency)
        text = _strip(values)
        out = fmt.to_float(_strip_currency(text.fillna(""), currency).mask(text.isna()))
        bad = (text.notna() & out.isna()) | np.isinf(out)
        if bad.any():
            row, value, more = _first_row(values, bad)
            raise DataError(number_problem(value, currency), file=file, column=column, row=row,
                            value=value, more=more)
        return out
    _fail("not a finite number", values, pd.Series(np.isinf(out.to_numpy()), index=values.index),
          file, column)
    return out


# ---------------------------------------------------------------------------- flags
FLAG_TRUE = frozenset({"1", "1.0", "true", "yes", "y"})
FLAG_FALSE = frozenset({"0", "0.0", "false", "no", "n"})


def parse_flags(values: pd.Series, *, file=None, column=None) -> pd.Series:
    """1/0, true/false (any case), yes/no, y/n → Int64 1/0 (empty stays missing)."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        num = values.astype(float)
        _fail("not a flag (use 1/0, true/false, yes/no or y/n)", values,
              num.notna() & ~num.isin([0.0, 1.0]), file, column)
        return num.astype("Int64")
    text = _strip(values).str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="Int64")
    out = out.mask(text.isin(FLAG_TRUE).fillna(False), 1)
    out = out.mask(text.isin(FLAG_FALSE).fillna(False), 0)
    _fail("not a flag (use 1/0, true/false, yes/no or y/n)", values, text.notna() & out.isna(),
          file, column)
    return out


def message_for(kind: str, value, fmt=None, currency: str | None = None) -> str:
    """The message this module gives for one bad ``value`` of a ``"date"`` or ``"number"``
    column read with ``fmt``: engines that find the row themselves say the same. A number
    column the file types itself (``kind`` ``"amount"``, no ``fmt``) has a bad value only
    when it is missing (NaN included) or infinite."""
    if value is None or str(value).strip() == "":
        return "a value is required"
    if kind == "date":
        return date_problem(value, fmt or "%Y-%m-%d")
    if kind == "amount" and fmt is None:
        return "not a finite number"
    return number_problem(value, currency)


def java_date_pattern(fmt: str) -> str:
    """A strptime format as a Spark (java.time) pattern: ``%d/%m/%Y`` → ``d/M/yyyy``."""
    if fmt == "%Y%m%d":
        return "yyyyMMdd"
    table = {"%Y": "yyyy", "%m": "M", "%d": "d", "%H": "H", "%M": "m", "%S": "s",
             "%y": "yy", "%b": "MMM", "%B": "MMMM", "%f": "SSSSSS", "%%": "%"}
    out, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and fmt[i:i + 2] in table:
            out.append(table[fmt[i:i + 2]])
            i += 2
        elif fmt[i].isalpha():
            out.append(f"'{fmt[i]}'")
            i += 1
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)
