"""Tables and figures formatted for people: the one formatting layer of every report.

Every table a report shows goes through :func:`table` (notebooks call :func:`activate`
once, after which any DataFrame a cell displays is shown through it). Built on pandas'
``Styler`` (already a dependency, escapes client text, renders offline):

* no index column; column labels in words, money columns with their currency;
* thousands separators and decimals chosen per quantity, not per cell (:func:`decimals`):
  money 0, shares as % (one decimal below 100%), scale points and estimates 2 (more when
  the whole quantity is small), p-values ``<0.001`` / ``0.03`` (never scientific notation);
  an estimate and its interval, and an interval's two ends, share their decimals;
* ``low``/``high`` interval pairs shown as one "a to b" column;
* keys shown by their names where the analysis knows them (capabilities by the
  catalogue's names, see :func:`activate`);
* booleans as "yes"/"no", missing values as "–", long text wrapped, never cut;
* wide tables with few rows transposed; others scroll inside their own box on screen
  and shrink to fit the page in print.

:func:`number` formats one value by the same rules (used by the index, the executive
summary, the deck and the Excel number formats through :func:`column_kind`).
"""
from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MISSING = "–"
MAX_ROWS = 25
TRANSPOSE_COLUMNS = 9  # wider than this and at most TRANSPOSE_ROWS rows: shown transposed
TRANSPOSE_ROWS = 6

# Quantities by column name. Money in the client's currency; "share" is a fraction (0-1)
# shown as %, "percent" is already in % (ROI, IRR); "p" a p-value; "count" a whole number.
MONEY = {"clv", "clv_total", "clv_mean", "clv_min", "clv_max", "total_spend", "past_spend_mean",
         "monetary_value", "monthly_value", "value_per_unit", "pv_costs", "pv_benefits", "npv",
         "cost", "benefits", "net", "cumulative", "cumulative_discounted", "one_off", "monthly",
         "benefit_direct", "benefit_indirect", "extra_running_cost", "npv_at_low",
         "npv_at_high", "base_npv", "swing", "benefit", "one-off cost", "monthly cost",
         "run cost / month", "value per unit", "start", "end"}
SHARE = {"roi", "irr", "effect_pct", "ROI 24m", "ROI 24m P10", "ROI 24m P90", "share", "cumulative_share", "customer_share", "clv_share", "p_alive", "p_alive_mean",
         "share_rwg_ge_070", "retention", "survival", "p_npv_positive", "top_decile_share",
         "customer share", "clv share", "P(NPV>0)"}
PERCENT: set[str] = set()  # columns already in per cent (none of the reports so far)
P_VALUE = re.compile(r"^(p|p_value|p_adj|p_holm|p_bh|perm_p|p_gate|pretrend_p(_clustered)?|"
                     r"p_boot|wilcoxon_p(_adj)?|p_welch(_adj)?|p_kruskal(_adj)?|gap_p_holm|"
                     r"p-value)$")
COUNT = {"n", "n_respondents", "customers", "n_items", "n_groups", "n_params", "n_pilot",
         "n_control", "n_obs", "rows read", "rows excluded", "rows kept", "rollout units",
         "rollout_units", "decile", "rank", "frequency", "df", "df1", "df2", "pre_months",
         "post_months", "delay_days", "overlap_with_next_days", "months", "horizon"}
# Interval columns merged into one "a to b" column: (low, high, label of the merged column).
INTERVALS = [("ci_low", "ci_high", "Interval"), ("current_low", "current_high", "Current: interval"),
             ("target_low", "target_high", "Target: interval"), ("gap_low", "gap_high",
                                                                 "Gap: interval"),
             ("share_ci_low", "share_ci_high", "Share: interval"),
             ("lift_ci_low", "lift_ci_high", "Value lift: interval"),
             ("icc1_low", "icc1_high", "ICC(1): interval"), ("icc2_low", "icc2_high",
                                                              "ICC(2): interval"),
             ("alpha_ci_low", "alpha_ci_high", "Alpha: interval"),
             ("omega_ci_low", "omega_ci_high", "Omega: interval"),
             ("performance_ci_low", "performance_ci_high", "Performance: interval"),
             ("importance_ci_low", "importance_ci_high", "Importance: interval"),
             ("better_ci_low", "better_ci_high", "Better: interval"),
             ("worse_ci_low", "worse_ci_high", "Worse: interval"),
             ("monthly_value_ci_low", "monthly_value_ci_high", "Monthly value: interval")]
LABELS = {
    "se": "Std. error", "n": "n", "estimate": "Estimate", "p": "p", "p_value": "p",
    "p_adj": "p (adjusted)", "p_holm": "p (Holm)", "gap_p_holm": "Gap p (Holm)",
    "perm_p": "Placebo p", "p_gate": "p used by the gate", "pretrend_p": "Pre-trend p",
    "pretrend_p_clustered": "Pre-trend p (clustered)", "p_boot": "p (bootstrap)",
    "wilcoxon_p": "Wilcoxon p", "wilcoxon_p_adj": "Wilcoxon p (adjusted)",
    "p_welch": "Welch p", "p_welch_adj": "Welch p (adjusted)", "p_kruskal": "Kruskal–Wallis p",
    "p_kruskal_adj": "Kruskal–Wallis p (adjusted)", "n_respondents": "Respondents",
    "n_items": "Items", "n_groups": "Groups", "n_params": "Parameters", "n_eff": "Effective n",
    "d_z": "Effect size d_z", "epsilon2": "Effect size ε²", "icc1": "ICC(1)", "icc2": "ICC(2)",
    "clv": "CLV", "clv_total": "Total CLV", "clv_mean": "Mean CLV", "clv_min": "Lowest CLV",
    "clv_max": "Highest CLV", "p_alive": "P(alive)", "p_alive_mean": "Mean P(alive)",
    "aic": "AIC", "bic": "BIC", "holdout_mae": "Holdout MAE", "holdout_rmse": "Holdout RMSE",
    "npv": "NPV", "roi": "ROI", "irr": "IRR (a year)", "pv_costs": "PV of costs",
    "pv_benefits": "PV of benefits", "payback_months": "Payback (months)",
    "effect_pct": "Effect (% of baseline)", "kpi": "KPI", "rwg_j": "r_wg(J)",
    "median_rwg": "Median r_wg", "share_rwg_ge_070": "Share with r_wg ≥ 0.70",
    "item_total_r": "Corrected item-total r", "alpha_if_deleted": "Alpha if item deleted",
    "customer_id": "Customer", "T": "Age (T)", "p_npv_positive": "P(NPV > 0)",
    "F": "F", "H": "H", "t": "t", "A": "A", "B": "B", "O": "O", "M": "M", "I": "I", "R": "R",
    "Q": "Q", "df": "df", "df1": "df1", "df2": "df2", "k0": "k₀",
}


def words(name: str) -> str:
    """A column name in words: ``"past_spend_mean"`` → ``"Past spend mean"``."""
    if name in LABELS:
        return LABELS[name]
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text.islower() or " " in text else text


def column_kind(name: str, values: pd.Series | None = None) -> str:
    """The quantity a column holds: money, share, percent, p, count, number, bool, date
    or text (by name first, then by dtype)."""
    name = str(name)
    if values is not None and (pd.api.types.is_bool_dtype(values)
                               or _all_bool(values)):
        return "bool"
    if P_VALUE.match(name):
        return "p"
    if values is not None and not pd.api.types.is_numeric_dtype(values):
        if pd.api.types.is_datetime64_any_dtype(values):
            return "date"
        return "text"
    if name in MONEY:
        return "money"
    if name in SHARE:
        return "share"
    if name in PERCENT:
        return "percent"
    if name in COUNT or (values is not None and pd.api.types.is_integer_dtype(values)):
        return "count"
    return "number"


def _all_bool(values: pd.Series) -> bool:
    if values.dtype != object:
        return False
    present = values.dropna()
    return len(present) > 0 and all(isinstance(v, (bool, np.bool_)) for v in present)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, (float, np.floating)) and not math.isfinite(value)


def decimals(values: Any, kind: str = "number", default: int = 2) -> int | None:
    """Decimals for one quantity: every value of it (a column, an estimate with its
    interval, an interval's two ends) is written with the same number of decimals.

    Chosen by the largest magnitude: a plain number gets ``default`` decimals, more when
    the largest value would otherwise show fewer than two significant digits, none from
    1,000; a share (shown as %) and a percentage get one decimal below 100% (1,000%), none
    above. None for quantities whose format does not depend on size (money, counts, p).
    """
    if kind not in ("number", "share", "percent"):
        return None
    arr = np.asarray([v for v in np.ravel(np.asarray(values, dtype=object))
                      if isinstance(v, (int, float, np.integer, np.floating))
                      and not isinstance(v, (bool, np.bool_))], dtype=float)
    arr = np.abs(arr[np.isfinite(arr)])
    top = float(arr.max()) if len(arr) else 0.0
    # compared as shown at one decimal: a cumulative share summed to 1 − 1e-16 is 100%
    if kind == "share":
        return 1 if round(top * 100, 1) < 100 else 0
    if kind == "percent":
        return 1 if round(top, 1) < 1000 else 0
    if top >= 1000:
        return 0
    if top == 0:
        return default
    return min(8, max(default, 1 - math.floor(math.log10(top))))


def _fixed(value: float, places: int) -> str:
    """``value`` with ``places`` decimals and thousands separators; never ``-0.00``."""
    text = f"{value:,.{places}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def p_text(p: float) -> str:
    """``"= 0.009"`` or ``"< 0.001"``: a p-value in running text, as the tables write it."""
    text = number(p, "p")
    return text.replace("<", "< ") if text.startswith("<") else f"= {text}"


def number(value: Any, kind: str = "number", currency: str | None = None,
           places: int | None = None) -> str:
    """One value as text by the rules of this module (see the module docstring);
    ``places`` fixes the decimals (default: :func:`decimals` of the value alone)."""
    if _missing(value):
        return MISSING
    if kind == "bool" or isinstance(value, (bool, np.bool_)):
        return "yes" if bool(value) else "no"
    if isinstance(value, (pd.Timestamp,)) or kind == "date":
        try:
            return pd.Timestamp(value).strftime("%Y-%m-%d")
        except (ValueError, TypeError):
            return str(value)
    if not isinstance(value, (int, float, np.integer, np.floating)):
        return str(value)
    value = float(value)
    if kind == "p":
        return "<0.001" if value < 0.001 else f"{value:.3f}" if value < 0.01 else f"{value:.2f}"
    if kind == "money":
        text = _fixed(value, 0)
        return f"{currency} {text}" if currency else text
    if kind == "count" and value == int(value):
        return _fixed(value, 0)
    kind = kind if kind in ("share", "percent") else "number"
    places = (decimals([value], kind) or 0) if places is None else places
    if kind == "share":
        return f"{_fixed(value * 100, places)}%"
    if kind == "percent":
        return f"{_fixed(value, places)}%"
    return _fixed(value, places)


def interval(low: Any, high: Any, kind: str = "number", currency: str | None = None,
             places: int | None = None) -> str:
    """``"2.44 to 2.62"``; both ends with the same decimals (``places``, default: those of
    the larger end); the currency is written once, before the pair."""
    if _missing(low) or _missing(high):
        return MISSING
    places = decimals([low, high], kind) if places is None else places
    text = f"{number(low, kind, places=places)} to {number(high, kind, places=places)}"
    return f"{currency} {text}" if currency and kind == "money" else text


WIDE_COLUMNS = 9  # from this many columns a printed table uses the small, wrapping style
# Fitting a wide table to the printed page (A4 less 12 mm margins = 186 mm = 527 pt): a
# character is about 0.6 em wide, a bold header's 10% wider, a cell's padding about 1.2.
PRINT_WIDTH_PT, CHAR_WIDTH, BOLD, CELL_PADDING = 527.0, 0.6, 1.1, 1.2
WIDE_PRINT_PT, MIN_PRINT_PT = 6.0, 4.5


@dataclass
class Table:
    """A formatted table: ``_repr_html_`` for notebooks, :attr:`text` for slides and PDFs.

    Built by :func:`table`; ``text`` holds the cell strings (labels as columns).
    """

    text: pd.DataFrame
    numeric: list[str] = field(default_factory=list)
    note: str = ""
    caption: str = ""
    transposed: bool = False

    def styler(self):
        """The pandas ``Styler`` of the table (no index, text escaped, numbers right)."""
        sty = self.text.style.hide(axis="index").format(escape="html")
        if self.transposed:
            sty = sty.set_table_styles([{"selector": "td:first-child",
                                         "props": [("font-weight", "600")]}], overwrite=False)
        lengths = [self.text.iloc[:, i].astype(str).str.len().mean() if len(self.text) else 0
                   for i in range(self.text.shape[1])]
        wide = [c for c, n in zip(self.text.columns, lengths) if c not in self.numeric and n > 30]
        if wide:  # long text gets room to wrap instead of a narrow, tall column
            sty = sty.set_properties(subset=wide, **{"min-width": "14em"})
        if self.numeric:  # numbers never wrap and take no more width than they need
            sty = sty.set_properties(subset=[c for c in self.numeric if c in self.text.columns],
                                     **{"text-align": "right", "white-space": "nowrap",
                                        "width": "1%"})
        if self.caption:
            sty = sty.set_caption(self.caption)
        is_text = np.array([c not in self.numeric for c in self.text.columns], dtype=bool)
        sty = sty.set_td_classes(pd.DataFrame(
            np.tile(np.where(is_text, "crm-text", ""), (len(self.text), 1)),
            index=self.text.index, columns=self.text.columns))
        if len(self.text.columns) < WIDE_COLUMNS:
            return sty.set_table_attributes('class="crm-table"')
        # many columns: printed smaller and allowed to wrap (headers at spaces only, text
        # anywhere, numbers never), in the font size that lets the table fit the page
        return sty.set_table_attributes(
            f'class="crm-table crm-wide" style="--crm-print-font: {self.print_font():.1f}pt"')

    def print_font(self) -> float:
        """Font size (pt) that fits the printed table on an A4 page: the words of the
        headers and the numbers cannot break, so their widths add up."""
        chars = 0.0
        for col in self.text.columns:
            head = BOLD * max((len(w) for w in str(col).split()), default=1)
            cells = self.text[col].astype(str)
            longest = (cells.str.split().explode().str.len().max() if len(cells) else 0) or 0
            cell = longest if col in self.numeric else min(longest, 4)
            chars += max(head, cell) + CELL_PADDING
        return max(MIN_PRINT_PT, min(WIDE_PRINT_PT, PRINT_WIDTH_PT / (CHAR_WIDTH * chars)))

    def _repr_html_(self) -> str:
        note = f'<p class="crm-table-note">{html.escape(self.note)}</p>' if self.note else ""
        return f'<div class="crm-table-box">{self.styler().to_html()}</div>{note}'

    def __len__(self) -> int:
        return len(self.text)


def _merge_intervals(df: pd.DataFrame) -> list[tuple[str, str, str, str]]:
    """Interval pairs present: (low, high, merged label, column whose kind they share)."""
    out = []
    for low, high, label in INTERVALS:
        if low in df.columns and high in df.columns:
            base = low[: -len("_low")].removesuffix("_ci") if low != "ci_low" else ""
            kind_of = base if base in df.columns else ("estimate" if "estimate" in df.columns
                                                       else "")
            out.append((low, high, label, kind_of))
    return out


def _blank(values: pd.Series) -> bool:
    """True for a column with nothing in it: every cell missing or empty text (the column
    still goes to the Excel workbook)."""
    if not len(values) or pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return bool(values.isna().all())
    return bool(values.map(lambda v: v is None or v is pd.NA or (isinstance(v, float)
                                                                 and np.isnan(v))
                           or str(v).strip() == "").all())


def _where_every_row_is(rows: int) -> str:
    """Where a table cut on the page has all its ``rows``: the workbook, or past the rows
    a sheet lists (:data:`crmlib.results.EXCEL_SHEET_ROWS`), its CSV file."""
    from .results import EXCEL_SHEET_ROWS

    if rows > EXCEL_SHEET_ROWS:
        return (f"every row is in the table's CSV file (the Excel workbook lists tables of up "
                f"to {EXCEL_SHEET_ROWS:,} rows)")
    return "every row is in the Excel workbook"


def table(df: pd.DataFrame, *, currency: str | None = None,
          kinds: Mapping[str, str] | None = None, labels: Mapping[str, str] | None = None,
          max_rows: int | None = MAX_ROWS, caption: str = "",
          transpose: bool | None = None,
          names: Mapping[str, Mapping[str, str]] | None = None) -> Table:
    """Format ``df`` for people (see the module docstring for the rules).

    Parameters
    ----------
    df : the table; its index is dropped unless it is named (then it becomes a column).
    currency : code written with money columns (default: the one set by :func:`activate`).
    kinds : column → quantity, overriding :func:`column_kind`.
    labels : column → label, overriding :func:`words`.
    max_rows : rows shown; the rest are counted in a note (None: all).
    caption : a title above the table.
    transpose : force or forbid showing the table transposed (default: when wide and short).
    names : column → {key: name}: keys shown by their names (default: the ones set by
        :func:`activate`, e.g. capability keys by the catalogue's names).
    """
    currency = currency if currency is not None else _STATE.get("currency")
    kinds, labels = dict(kinds or {}), dict(labels or {})
    if any(n is not None for n in df.index.names) and not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()
    df = with_names(df.loc[:, ~df.columns.duplicated()], names)
    df = df.drop(columns=[c for c in df.columns if _blank(df[c])])
    note = ""
    if max_rows is not None and len(df) > max_rows:
        note = f"First {max_rows:,} of {len(df):,} rows; {_where_every_row_is(len(df))}."
        df = df.head(max_rows)
    merged = {m[0]: m for m in _merge_intervals(df)}
    skip = {m[1] for m in merged.values()}
    # one quantity, one number of decimals: a column, or an estimate with its interval
    places: dict[str, int | None] = {}
    for low, high, _, base in merged.values():
        kind = kinds.get(base) or column_kind(base, df[base]) if base else "number"
        group = [low, high] + ([base] if base else [])
        places[low] = places[base or low] = decimals(df[group].to_numpy(), kind)
    cols, numeric, shown = {}, [], {}
    for name in df.columns:
        if name in skip:
            continue
        label = labels.get(name) or (merged[name][2] if name in merged else words(name))
        if name in merged:
            low, high, _, base = merged[name]
            kind = kinds.get(base) or column_kind(base, df[base]) if base else "number"
            cur = currency if kind == "money" else None
            cells = [interval(lo, hi, kind, cur, places[low]) for lo, hi in zip(df[low], df[high])]
        else:
            kind = kinds.get(name) or column_kind(name, df[name])
            fixed = places[name] if name in places else decimals(df[name].to_numpy(), kind)
            cells = [number(v, kind, places=fixed) if kind != "text" else as_text(v)
                     for v in df[name]]
            if kind == "money" and currency:
                label = f"{label} ({currency})"
        if kind not in ("text", "bool", "date"):
            numeric.append(label)
        cols[label], shown[name] = cells, label
    text = pd.DataFrame(cols)
    transposed = False
    if transpose if transpose is not None else (text.shape[1] > TRANSPOSE_COLUMNS
                                                and 0 < len(text) <= TRANSPOSE_ROWS
                                                and text.iloc[:, 0].is_unique):
        if "label" in shown and df.columns[0] != "label" and df["label"].is_unique:
            text = text.drop(columns=text.columns[0])  # the codes give way to their names
            text = text[[shown["label"]] + [c for c in text.columns if c != shown["label"]]]
        first = text.columns[0]
        corner = shown.get(df.columns[0], first) if first == shown.get("label") else first
        text = text.set_index(first).T.reset_index().rename(columns={"index": corner})
        text.columns = [str(c) for c in text.columns]
        numeric, transposed = [], True
    return Table(text=text, numeric=numeric, note=note, caption=caption, transposed=transposed)


_P_SCI = re.compile(r"\b(p\s*=\s*)(\d(?:\.\d+)?e-\d+)\b")
_SCI = re.compile(r"(?<![\w.])(-?\d(?:\.\d+)?e[+-]?\d+)\b")


def plain_text(text: str) -> str:
    """Free text with numbers in scientific notation written out for people:
    ``"Holm p = 3.05e-06"`` → ``"Holm p < 0.001"``, ``"2.5e+06"`` → ``"2,500,000"``."""
    text = _P_SCI.sub(lambda m: (m.group(1).replace("=", "<").rstrip() + " 0.001")
                      if float(m.group(2)) < 0.001 else m.group(1) + number(float(m.group(2)), "p"),
                      text)
    return _SCI.sub(lambda m: number(float(m.group(1))), text)


def as_text(value: Any) -> str:
    """A value of a text column as people read it (lists joined, yes/no, numbers formatted)."""
    if _missing(value):
        return MISSING
    if isinstance(value, str):
        return plain_text(value)
    if isinstance(value, (list, tuple, set)):
        return ", ".join(as_text(v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return number(value)
    return str(value)


_STATE: dict[str, Any] = {}


def with_names(df: pd.DataFrame, names: Mapping[str, Mapping[str, str]] | None = None
               ) -> pd.DataFrame:
    """``df`` with the keys of each column of ``names`` replaced by their names (keys not
    listed stay); ``names`` defaults to the ones set by :func:`activate`."""
    names = active_names() if names is None else names
    present = [c for c in df.columns if c in names and not pd.api.types.is_numeric_dtype(df[c])]
    if not present:
        return df
    df = df.copy()
    for c in present:
        df[c] = df[c].map(lambda v, m=names[c]: v if _missing(v) else m.get(str(v), v))
    return df


def active_names() -> dict[str, dict[str, str]]:
    """The names set by :func:`activate` (column → {key: name}); empty when none."""
    return dict(_STATE.get("names") or {})


def activate(currency: str | None = None,
             names: Mapping[str, Mapping[str, str]] | None = None) -> None:
    """Show every DataFrame a notebook displays through :func:`table`.

    Call once in a notebook's first code cell; ``currency`` is written with money;
    ``names`` (column → {key: name}) shows keys by their names in every table and in
    the Excel workbook (:func:`crmlib.results.write_results`); CSV files keep the keys.
    Call it again when the names are known. Outside IPython it only records both.
    """
    _STATE["currency"] = currency
    _STATE["names"] = {str(c): dict(m) for c, m in (names or {}).items()}
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the notebooks
        return
    ip = get_ipython()
    if ip is None:
        return
    formatter = ip.display_formatter.formatters["text/html"]
    formatter.for_type(pd.DataFrame, lambda df: table(df)._repr_html_())
    plain = ip.display_formatter.formatters["text/plain"]
    plain.for_type(pd.DataFrame, lambda df, p, cycle: p.text(f"table of {len(df):,} rows"))
