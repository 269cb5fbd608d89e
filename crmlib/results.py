"""The results contract of every analysis and how it is written.

A notebook's ``results.json`` is an open mapping (each analysis adds its own keys) with
three typed parts every reader relies on (:class:`Results`):

* ``headline``: a list of :class:`Headline` (label, value, unit, interval and its level);
* ``findings``: three to five plain sentences with numbers, for the board;
* ``actions``: the ordered priorities as :class:`Action` (rank, action, why).

The index, the executive summary and the slide deck read these through
:meth:`Results.from_json`, never by guessing dict shapes; :func:`json_schema` is the
JSON schema generated from the dataclasses (``docs/results.schema.json``). Tables go to
CSV (raw column names, full precision, for analysts) and to one Excel workbook
(:func:`write_excel`: words as headers, number formats, filters, no formula from data).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
import math
import os
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import display
from .io.database import DatabaseSource
from .sections import degraded

CURRENCY_UNIT = "currency"  # placeholder unit replaced by the client's currency
SHARE_UNITS = ("share", "probability")


class ResultsError(ValueError):
    """A ``results.json`` whose typed parts do not follow the contract."""


@dataclass(frozen=True)
class Headline:
    """One headline figure with its interval.

    Attributes
    ----------
    label : what the figure is, in words.
    value : the figure (a number, or text for a category such as a gate decision).
    unit : ``"%"`` (value already in per cent), ``"share"``/``"probability"`` (a fraction
        shown as %), a currency code (``"EUR"``) or ``"currency"`` (the client's), or a
        unit in words (``"scale points"``).
    ci : ``(low, high)`` of the interval, or None.
    ci_level : the interval's level (0.9 for 90%), or None.
    """

    label: str
    value: float | int | str | None
    unit: str = ""
    ci: tuple[float, float] | None = None
    ci_level: float | None = None

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Headline:
        """Check and read one headline mapping (raises :class:`ResultsError`)."""
        if not isinstance(item, Mapping) or not isinstance(item.get("label"), str):
            raise ResultsError(f"headline item needs a text 'label', got {item!r}")
        value, ci, level = item.get("value"), item.get("ci"), item.get("ci_level")
        if not (value is None or isinstance(value, (int, float, str))):
            raise ResultsError(f"headline {item['label']!r}: value must be a number or text")
        if ci is not None:
            if not (isinstance(ci, (list, tuple)) and len(ci) == 2
                    and all(_is_number(v) for v in ci)):
                raise ResultsError(f"headline {item['label']!r}: ci must be [low, high]")
            ci = (float(ci[0]), float(ci[1]))
        if level is not None and not (_is_number(level) and 0 < level < 1):
            raise ResultsError(f"headline {item['label']!r}: ci_level must lie in (0, 1)")
        return cls(item["label"], value, str(item.get("unit") or ""), ci,
                   None if level is None else float(level))

    def kind(self) -> str:
        """The quantity of the figure for :func:`crmlib.display.number`."""
        if self.unit in SHARE_UNITS:
            return "share"
        if self.unit == "%":
            return "percent"
        if is_currency(self.unit):
            return "money"
        return "number" if isinstance(self.value, float) else "count"

    def value_text(self, currency: str | None = None) -> str:
        """The figure with its unit: ``"EUR 567,323"``, ``"58.0%"``, ``"2.53 stage (1–4)"``."""
        number, unit = self.parts(currency)
        return f"{number} {unit}" if unit else number

    def parts(self, currency: str | None = None) -> tuple[str, str]:
        """The figure and the unit written after it (``""`` when the figure carries it)."""
        if isinstance(self.value, str):
            return self.value, ""
        kind = self.kind()
        if kind == "money":
            return display.number(self.value, kind, self.currency(currency)), ""
        text = display.number(self.value, kind)
        unit = "" if kind in ("share", "percent") or text == display.MISSING else self.unit
        return text, unit

    def ci_text(self, currency: str | None = None) -> str:
        """``"90% interval 2.44 to 2.62"``, or "" without an interval."""
        if self.ci is None:
            return ""
        kind = self.kind()
        name = f"{self.ci_level * 100:g}% interval" if self.ci_level else "interval"
        cur = self.currency(currency) if kind == "money" else None
        return f"{name} {display.interval(self.ci[0], self.ci[1], kind, cur)}"

    def currency(self, default: str | None = None) -> str | None:
        """The currency of a money figure: its unit, or ``default`` for ``"currency"``."""
        return default if self.unit == CURRENCY_UNIT else self.unit

    def to_dict(self) -> dict[str, Any]:
        out = {"label": self.label, "value": self.value, "unit": self.unit,
               "ci": list(self.ci) if self.ci else None}
        if self.ci_level is not None:
            out["ci_level"] = self.ci_level
        return out


@dataclass(frozen=True)
class Action:
    """One priority, in the order to act on it.

    Attributes
    ----------
    rank : 1 for the first thing to do.
    action : what to do, in words.
    why : the evidence, one short sentence with its number.
    """

    rank: int
    action: str
    why: str = ""

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Action:
        if not (isinstance(item, Mapping) and isinstance(item.get("rank"), int)
                and isinstance(item.get("action"), str)):
            raise ResultsError(f"action needs an integer 'rank' and a text 'action', "
                               f"got {item!r}")
        return cls(item["rank"], item["action"], str(item.get("why") or ""))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Results:
    """The typed part of a notebook's ``results.json``; ``extra`` holds every other key.

    Attributes
    ----------
    headline : the headline figures, the first one the analysis' main figure.
    findings : three to five sentences with numbers, in the order a board reads them.
    actions : the priorities, first to act on first.
    title : the analysis' name in words.
    currency : the currency code money figures are in.
    key_chart : file name of the key chart in the results folder.
    extra : the analysis' other keys, written unchanged.
    """

    headline: list[Headline] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    title: str = ""
    currency: str | None = None
    key_chart: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    TYPED = ("headline", "findings", "actions", "title", "currency", "key_chart")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Results:
        """Read a parsed ``results.json`` (raises :class:`ResultsError` if malformed)."""
        if not isinstance(data, Mapping):
            raise ResultsError("results.json is not an object")
        headline, findings = data.get("headline") or [], data.get("findings") or []
        if not isinstance(headline, list):
            raise ResultsError("'headline' must be a list")
        if not (isinstance(findings, list) and all(isinstance(f, str) for f in findings)):
            raise ResultsError("'findings' must be a list of sentences")
        actions = data.get("actions") or []
        if not isinstance(actions, list):
            raise ResultsError("'actions' must be a list")
        return cls([Headline.from_dict(h) for h in headline], list(findings),
                   [Action.from_dict(a) for a in actions], str(data.get("title") or ""),
                   data.get("currency") or None, data.get("key_chart") or None,
                   {k: v for k, v in data.items() if k not in cls.TYPED})

    def to_json(self) -> dict[str, Any]:
        """The mapping written as ``results.json`` (extra keys first, typed keys after)."""
        out = dict(self.extra)
        out.update(headline=[h.to_dict() for h in self.headline], findings=list(self.findings),
                   actions=[a.to_dict() for a in self.actions])
        for name in ("title", "currency", "key_chart"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        return out


def is_currency(unit: str) -> bool:
    """A currency code (three capitals, e.g. ``EUR``) or the placeholder ``"currency"``."""
    return unit == CURRENCY_UNIT or bool(re.fullmatch(r"[A-Z]{3}", unit or ""))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def _type_schema(tp: Any) -> dict[str, Any]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_type_schema(a) for a in args]}
    if origin is list:
        return {"type": "array", "items": _type_schema(args[0])}
    if origin is tuple:
        return {"type": "array", "prefixItems": [_type_schema(a) for a in args],
                "minItems": len(args), "maxItems": len(args)}
    if origin is dict:
        return {"type": "object"}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass_schema(tp)
    simple = {str: "string", int: "integer", float: "number", bool: "boolean",
              type(None): "null"}
    if tp in simple:
        return {"type": simple[tp]}
    return {}


def _dataclass_schema(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = [f for f in dataclasses.fields(cls) if f.name != "extra"]
    required = [f.name for f in fields if f.default is dataclasses.MISSING
                and f.default_factory is dataclasses.MISSING]
    doc = (cls.__doc__ or "").strip().splitlines()[0]
    out = {"title": cls.__name__, "description": doc, "type": "object",
           "properties": {f.name: _type_schema(hints[f.name]) for f in fields}}
    if required:
        out["required"] = required
    return out


def json_schema() -> dict[str, Any]:
    """JSON schema of ``results.json``, generated from :class:`Results` and its parts.

    Other keys are allowed (each analysis adds its own).
    """
    schema = _dataclass_schema(Results)
    schema["additionalProperties"] = True
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "crmlib/results.schema.json", **schema}


def to_jsonable(obj: Any) -> Any:
    """Convert numpy/pandas scalars and containers to plain JSON types (NaN → None)."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, np.ndarray, pd.Index)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pd.Series):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if math.isnan(obj) or math.isinf(obj) else float(obj)
    if isinstance(obj, (pd.Timestamp, dt.date, dt.datetime)):
        return obj.isoformat()[:10] if not isinstance(obj, dt.datetime) or obj == pd.Timestamp(obj).normalize() else obj.isoformat()
    if isinstance(obj, os.PathLike):
        return str(obj)
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, DatabaseSource):   # its configuration form: a variable name, no URL
        return obj.to_dict()
    return obj


def _excel_sheet_name(name: str, used: set[str]) -> str:
    base = "".join(ch for ch in name if ch not in '[]:*?/\\')[:31] or "table"
    out, i = base, 1
    while out in used:
        i += 1
        out = f"{base[:28]}_{i}"
    used.add(out)
    return out


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV/formula injection
ILLEGAL_CHARACTERS = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # not allowed in XML
_NUMBER_TEXT = re.compile(r"^-?(?:[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*|0)(?:\.\d+)?$")
_PERCENT_TEXT = re.compile(r"^-?\d+(?:\.\d+)?%$")
EXCEL_FORMATS = {"share": "0.0%", "percent": '0.0"%"', "p": "0.000", "count": "#,##0",
                 "number": "#,##0.00", "small": "0.0000", "date": "yyyy-mm-dd"}


@functools.lru_cache(maxsize=1024)
def _is_id(column: str) -> bool:
    return bool(re.search(r"(^|_)(id|code|key)$", str(column), re.I))


def excel_value(value: Any, column: str = "") -> tuple[Any, str | None]:
    """A cell value for Excel and its own number format (None: the column's).

    Numbers written as text (``"567,323"``, ``"6"``, ``"10.0%"``) become numbers, except
    in identifier columns; lists become comma-separated text.
    """
    if isinstance(value, (np.generic,)):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float) and not math.isfinite(value)):
        return None, None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date)):
        return pd.Timestamp(value).to_pydatetime(), EXCEL_FORMATS["date"]
    if isinstance(value, (list, tuple, set, dict)):
        return display.as_text(list(value) if not isinstance(value, dict) else
                             [f"{k}: {v}" for k, v in value.items()]), None
    if isinstance(value, str) and not _is_id(column):
        text = value.strip()
        if _NUMBER_TEXT.match(text):
            number = float(text.replace(",", ""))
            return (int(number) if number.is_integer() and "." not in text else number,
                    EXCEL_FORMATS["count"] if "." not in text else EXCEL_FORMATS["number"])
        if _PERCENT_TEXT.match(text):
            return float(text[:-1]) / 100, EXCEL_FORMATS["share"]
    return value, None


def _column_format(kind: str, values: pd.Series, currency: str | None) -> str | None:
    if kind == "money":
        return f'"{currency} "#,##0' if currency else "#,##0"
    if kind == "number":
        present = pd.to_numeric(values, errors="coerce").abs().dropna()
        return EXCEL_FORMATS["small"] if len(present) and present.max() < 0.1 else \
            EXCEL_FORMATS["number"]
    return EXCEL_FORMATS.get(kind)


def write_excel(tables: Mapping[str, pd.DataFrame], path: str | os.PathLike,
                currency: str | None = None,
                names: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """One sheet per table, finished for a client and safe to open.

    Headers in words (money with its currency), number formats per quantity
    (:func:`crmlib.display.column_kind`), an autofilter, a frozen header row, fitted
    column widths, numbers never stored as text. Text that starts with ``=``, ``+``,
    ``-``, ``@``, tab or CR is written as a text cell with Excel's quote prefix: it can
    never become a formula (OWASP, "CSV Injection"). Keys of the columns of ``names``
    (column → {key: name}; default: those set by :func:`crmlib.display.activate`) are
    shown by their names, as on the page. Written by XlsxWriter, which never turns a
    string written as a string into a formula.
    """
    import xlsxwriter

    path = Path(path)
    wb = xlsxwriter.Workbook(str(path), {"remove_timezone": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False,
                                         "strings_to_urls": False})
    styles = _Formats(wb)
    used: set[str] = set()
    for name, df in tables.items():
        if any(n is not None for n in df.index.names) and not isinstance(df.index,
                                                                          pd.RangeIndex):
            df = df.reset_index()
        df = display.with_names(df, names)
        ws = wb.add_worksheet(_excel_sheet_name(str(name), used))
        if len(df) > EXCEL_SHEET_ROWS or len(df) >= EXCEL_MAX_ROWS:  # never lose rows silently
            _write_text(ws, 0, 0, _too_long(len(df), str(name)), styles)
            ws.set_column(0, 0, 100)
            continue
        kinds = {c: display.column_kind(c, df[c]) for c in df.columns}
        header = [display.words(str(c)) + (f" ({currency})" if kinds[c] == "money" and currency
                                           else "") for c in df.columns]
        widths = [len(h) for h in header]
        for j, label in enumerate(header):
            _write_text(ws, 0, j, label, styles, header=True)
        for j, column in enumerate(df.columns):
            fmt = _column_format(kinds[column], df[column], currency)
            write = _write_numbers if _plain_numbers(df[column]) else _write_cells
            widths[j] = max(widths[j], write(ws, j, df[column], str(column), fmt, styles))
        for j, width in enumerate(widths):
            ws.set_column(j, j, min(max(10, width + 2), 60))
        ws.freeze_panes(1, 0)
        if len(df.columns):
            ws.autofilter(0, 0, max(len(df), 1), len(df.columns) - 1)
    if not used:
        wb.add_worksheet("empty")
    wb.close()
    return path


WIDTH_ROWS = 199  # rows looked at to fit a column's width
EXCEL_MAX_ROWS = 1_048_576  # rows of an Excel sheet, the header included
EXCEL_SHEET_ROWS = 100_000
"""Rows a sheet of the workbook lists at most. XlsxWriter writes about 70,000 cells a
second here: a per-customer table of 300,000 customers would cost the run a minute and
make a 50 MB workbook no one reads row by row. Its sheet then names the CSV that holds
the table (as Power BI's Excel export caps at 150,000 rows and says so)."""


def _too_long(rows: int, name: str) -> str:
    """The text of the sheet of a table longer than :data:`EXCEL_SHEET_ROWS`."""
    why = (f"more than an Excel sheet holds ({EXCEL_MAX_ROWS:,} with the header)"
           if rows >= EXCEL_MAX_ROWS
           else f"more than this workbook lists in one sheet ({EXCEL_SHEET_ROWS:,})")
    return f"{rows:,} rows: {why}; the whole table is {name}.csv next to this workbook."


def _plain_numbers(values: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
            and not isinstance(values.dtype, pd.CategoricalDtype))


def _write_numbers(ws, j: int, values: pd.Series, column: str, fmt: str | None,
                   styles: _Formats) -> int:
    """A numeric column: numbers, missing or infinite values as blanks (what
    :func:`excel_value` makes of each, without asking per cell)."""
    style = styles.get(("number", fmt))
    width = 0
    for i, value in enumerate(values.tolist(), start=1):
        if value is None or value is pd.NA or not math.isfinite(value):
            if fmt:
                ws.write_blank(i, j, None, style)
            continue
        ws.write_number(i, j, value, style)
        if i <= WIDTH_ROWS:
            width = max(width, len(str(value)))
    return width


def _write_cells(ws, j: int, values: pd.Series, column: str, fmt: str | None,
                 styles: _Formats) -> int:
    width = 0
    for i, raw in enumerate(values.tolist(), start=1):
        value, own = excel_value(raw, column)
        _write_value(ws, i, j, value, own or fmt, styles)
        if i <= WIDTH_ROWS:
            width = max(width, len(str(value)) if value is not None else 0)
    return width


class _Formats:
    """XlsxWriter formats, made once per kind of cell."""

    def __init__(self, workbook) -> None:
        self.workbook = workbook
        self.made: dict[tuple, Any] = {}

    def get(self, key: tuple) -> Any:
        if key not in self.made:
            kind = key[0]
            props: dict[str, Any] = {"valign": "top"}
            if kind == "header":
                props.update(bold=True, font_color="#FFFFFF", bg_color="#1F3A5F",
                             text_wrap=True, quote_prefix=key[1])
            elif kind == "text":
                props.update(text_wrap=key[1], quote_prefix=key[2])
            else:
                props = {"num_format": key[1]} if key[1] else {}
            self.made[key] = self.workbook.add_format(props) if props else None
        return self.made[key]


def _write_text(ws, row: int, col: int, text: str, styles: _Formats,
                header: bool = False) -> None:
    """Write ``text`` as a text cell; formula-like text gets the quote prefix."""
    text = ILLEGAL_CHARACTERS.sub("", text)
    formula_like = text.startswith(FORMULA_START)
    key = ("header", formula_like) if header else ("text", len(text) > 60, formula_like)
    ws.write_string(row, col, text, styles.get(key))


def _write_value(ws, row: int, col: int, value: Any, fmt: str | None,
                 styles: _Formats) -> None:
    if value is None:
        if fmt:
            ws.write_blank(row, col, None, styles.get(("number", fmt)))
        return
    if isinstance(value, str):
        _write_text(ws, row, col, value, styles)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value)
    elif isinstance(value, (int, float)):
        ws.write_number(row, col, value, styles.get(("number", fmt)))
    elif isinstance(value, (dt.datetime, dt.date)):
        ws.write_datetime(row, col, value, styles.get(("number", fmt or EXCEL_FORMATS["date"])))
    else:
        _write_text(ws, row, col, str(value), styles)


def write_results(output_dir: str | os.PathLike, results: Mapping[str, Any] | Results,
                  tables: Mapping[str, pd.DataFrame] | None = None,
                  workbook: str | None = "tables.xlsx",
                  names: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """Write ``results.json`` and each table as ``<name>.csv`` (plus an Excel workbook).

    The typed parts are checked first (:meth:`Results.from_json`), so a malformed
    headline stops the notebook instead of reaching the index. Optional sections that
    could not be computed (:func:`crmlib.sections.degraded`) are added to ``results.json``
    as ``degraded``. The CSV files keep keys; the workbook, shown to people, shows them
    by their names (``names``, default: those set by :func:`crmlib.display.activate`).
    Returns the path of ``results.json``.
    """
    data = results.to_json() if isinstance(results, Results) else results
    if degraded():
        data = {**data, "degraded": degraded()}
    data = to_jsonable(data)
    Results.from_json(data)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables = dict(tables or {})
    for name, df in tables.items():
        df.to_csv(out / f"{name}.csv", index=False)
    if tables and workbook:
        write_excel(tables, out / workbook, data.get("currency"), names)
    path = out / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(to_jsonable(data), indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
    return path


class SavedChart:
    """A chart drawn once to PNG and written to files; a notebook shows it from the same
    bytes, at the size the inline backend would show the figure, so the figure is not
    drawn a second time (a drawing of a report chart costs 0.1 to 0.7 s).

    ``figure`` is the Matplotlib figure, ``png`` the bytes written.
    """

    def __init__(self, figure, png: bytes, width: int) -> None:
        self.figure, self.png, self.width = figure, png, width

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        return self.png, {"width": self.width}


def save_chart(fig, *paths: str | os.PathLike, dpi: float | None = None) -> SavedChart:
    """Draw ``fig`` once as PNG (``savefig.dpi``, 150 with the crmlib theme, tight box),
    write it to every path in ``paths`` and return it for display (:class:`SavedChart`)."""
    import matplotlib as mpl

    from .plots.png import png_bytes

    dpi = dpi or mpl.rcParams["savefig.dpi"]
    dpi = fig.dpi if dpi == "figure" else float(dpi)
    png = png_bytes(fig, dpi)
    for path in paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(png)
    width = int.from_bytes(png[16:20], "big")  # the PNG header's IHDR width
    return SavedChart(fig, png, max(1, round(width * fig.dpi / dpi)))


def save_key_chart(output_dir: str | os.PathLike, fig, name: str = "key_chart.png",
                   also: tuple[str, ...] = ()) -> SavedChart:
    """Save ``fig`` as the analysis' key chart (shown by the executive summary and the deck),
    and under the names in ``also``, in ``output_dir``; return it for display."""
    out = Path(output_dir)
    return save_chart(fig, out / name, *(out / a for a in also))


class Study:
    """What every analysis's face shares: ``results()`` and ``tables()`` read from one
    build, made on first use by the subclass's ``_build()`` (results dict, tables)."""

    def _build(self) -> tuple[dict, dict[str, pd.DataFrame]]:
        raise NotImplementedError

    @cached_property
    def _built(self) -> tuple[dict, dict[str, pd.DataFrame]]:
        return self._build()

    def results(self) -> dict:
        """The content of ``results.json`` (every section computed first)."""
        return self._built[0]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table to write (CSV and the Excel workbook), by name."""
        return self._built[1]
