"""Transactions → one row per customer (frequency, recency, T, monetary value).

The summary is the sufficient statistic of every Buy-Till-You-Die model
(Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing
Science 24(2); Fader & Hardie 2013, "The Gamma-Gamma model of monetary
value"). Conventions, as in those papers and in Lifetimes:

* Purchases are counted per **calendar day**: several transactions of one
  customer on one day are one purchase whose spend is their sum.
* ``frequency`` (x) = number of purchase days after the first;
  ``recency`` (t_x) = first to last purchase day; ``T`` = first purchase day to
  the end of the calibration period; all three in ``time_unit``: ``"D"`` days,
  ``"W"`` weeks (7 days), ``"M"`` months (365.25 / 12 = 30.4375 days).
* Every row is a transaction, as in Lifetimes, BTYD and CLVTools: identical rows
  are separate purchases (a customer buying the same item twice in a day) unless a
  ``transaction_col`` identifies the transactions or ``duplicates="drop"``; then
  identical rows are one transaction exported twice and excluded. A ``$0`` row is a
  purchase (Fader & Hardie's CDNOW summaries count $0 transactions): its day counts
  for frequency, recency and ``T``, but a day whose spend is 0 is left out of the
  spend model. Both are listed in the data-quality table with their counts.
* ``monetary_value`` = mean spend of the repeat purchase days with a positive spend
  (the first purchase is excluded; 0 when there is none), ``frequency_spend`` = the
  number of those days (the Gamma-Gamma model's x). ``total_spend`` includes the
  first purchase.
* Excluded rows, counted by reason in the :class:`~crmlib.io.DataQualityReport`
  (in this order): identical rows (only with ``duplicates="drop"`` or a
  ``transaction_col``), dates after the observation end, returns (negative
  amounts), zero amounts (only with ``zero_amounts="exclude"``), and rows of
  customers whose first purchase falls after the calibration end.
* With a ``calibration_end`` the holdout runs from the next day to the
  observation end; ``frequency_holdout`` counts purchase days in it,
  ``spend_holdout`` their spend.

The engines give identical results (tested): ``"pandas"`` (DataFrames, files
that fit in memory; input checked by :func:`crmlib.io.load_transactions`),
``"duckdb"`` (the default for a path: CSV or Parquet read in place, spilling to
disk beyond ``memory_limit``; :mod:`crmlib.clv.summary_duckdb`) and ``"spark"``
(:mod:`crmlib.clv.spark.summary`); what they share is in
:mod:`crmlib.clv.summary_core`. The DuckDB engine is our own SQL because no maintained
library summarises transaction logs out of core.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from ..io import DataError, DataQualityReport, load_transactions
from ..io.codes import factorize
from .summary_core import (
    DUPLICATES,
    INPUT,
    NOTES,
    REASONS,
    UNIT_DAYS,
    UNIT_NAMES,
    CustomerSummary,
    SummaryWindow,
    as_date,
    check_unit,
    check_window,
    finish,
)
from .summary_duckdb import summarise_duckdb

if TYPE_CHECKING:  # the Spark engine (and its scoring code) is imported when it is asked for
    from .spark.summary import SparkCustomerSummary

__all__ = ["DUPLICATES", "INPUT", "NOTES", "REASONS", "UNIT_DAYS", "UNIT_NAMES",
           "CustomerSummary", "Source", "SummaryWindow", "summarise"]

Source: TypeAlias = str | os.PathLike | pd.DataFrame


def summarise(source: Source, *, time_unit: str = "W", observation_end=None,
              calibration_end=None, engine: str | None = None,
              mapping: dict[str, str] | None = None, covariates: Sequence[str] = (),
              zero_amounts: str = "keep", duplicates: str = "keep",
              transaction_col: str | None = None, quality: DataQualityReport | None = None,
              memory_limit: str | None = None,
              threads: int | None = None) -> CustomerSummary | SparkCustomerSummary:
    """Summarise a transaction log per customer (see the module docstring for conventions).

    Parameters
    ----------
    source : path (CSV, Parquet, Excel) or DataFrame with the transactions contract.
    time_unit : ``"D"``, ``"W"`` or ``"M"``.
    observation_end : last day observed (ISO date); default the last date in the data.
    calibration_end : last day of the calibration period; default no holdout.
    engine : ``"pandas"``, ``"duckdb"`` or ``"spark"``; default DuckDB for CSV/Parquet paths.
        ``"spark"`` hands over to :func:`crmlib.clv.spark.summarise_spark` (a path, table
        name or Spark DataFrame; a new session on ``local[*]`` unless one is active) and
        returns its :class:`~crmlib.clv.spark.SparkCustomerSummary`.
    mapping : contract column → client column (e.g. ``{"customer_id": "cust"}``).
    covariates : columns whose value on the customer's first purchase day (the smallest
        if several) is carried to the summary, e.g. ``("channel",)``.
    zero_amounts : ``"keep"`` (a $0 row is a purchase day, out of the spend model) or
        ``"exclude"`` (the row is dropped, counted).
    duplicates : ``"keep"`` (identical rows are separate purchases) or ``"drop"``.
    transaction_col : column identifying transactions (mapped to ``order_id``); when
        given, identical rows are one transaction and dropped.
    quality : ledger receiving read and excluded counts (a new one if None).
    memory_limit, threads : DuckDB settings (e.g. ``"2GB"``; default ``"3GB"`` and all cores);
        DuckDB spills to disk beyond the limit.
    """
    check_unit(time_unit)
    if zero_amounts not in ("exclude", "keep"):
        raise ValueError(f"zero_amounts must be 'exclude' or 'keep', got {zero_amounts!r}")
    if duplicates not in DUPLICATES:
        raise ValueError(f"duplicates must be 'keep' or 'drop', got {duplicates!r}")
    if transaction_col:
        mapping = {**(mapping or {}), "order_id": transaction_col}
    drop_dups = duplicates == "drop" or bool(transaction_col)
    quality = quality if quality is not None else DataQualityReport()
    obs = as_date(observation_end, "observation_end")
    cal = as_date(calibration_end, "calibration_end")
    if engine is None:
        suffix = Path(source).suffix.lower() if not isinstance(source, pd.DataFrame) else ""
        engine = "duckdb" if suffix in (".csv", ".txt", ".parquet", ".pq") else "pandas"
    opts = dict(time_unit=time_unit, obs=obs, cal=cal, mapping=mapping,
                covariates=tuple(covariates), keep_zero=zero_amounts == "keep",
                drop_dups=drop_dups, quality=quality)
    if engine == "pandas":
        return _summarise_pandas(source, **opts)
    if engine == "duckdb":
        return summarise_duckdb(source, memory_limit=memory_limit, threads=threads, **opts)
    if engine == "spark":
        from .spark.summary import summarise_spark

        return summarise_spark(source, time_unit=time_unit, observation_end=obs,
                               calibration_end=cal, mapping=mapping, covariates=covariates,
                               zero_amounts=zero_amounts, duplicates="drop" if drop_dups
                               else "keep", quality=quality)
    raise ValueError(f"engine must be 'pandas', 'duckdb' or 'spark', got {engine!r}")


class _Rows:
    """Which rows of the log are still in, with exclusions counted by reason in order."""

    def __init__(self, index: pd.Index, quality) -> None:
        self.index, self.quality = index, quality
        self.alive = np.ones(len(index), dtype=bool)

    def _first(self, hit: np.ndarray) -> tuple[int, str | None]:
        n = int(hit.sum())
        return n, (f"row {int(self.index[int(np.argmax(hit))])}" if n else None)

    def exclude(self, mask: np.ndarray, reason: str) -> None:
        hit = mask & self.alive
        self.quality.exclude(INPUT, reason, *self._first(hit))
        self.alive &= ~hit

    def note(self, mask: np.ndarray, what: str) -> None:
        self.quality.note(INPUT, what, *self._first(mask & self.alive))


def _summarise_pandas(source, *, time_unit, obs, cal, mapping, covariates, keep_zero,
                      drop_dups, quality) -> CustomerSummary:
    """Array code over integer customer codes and day numbers, sorted once by both."""
    tx = load_transactions(source, mapping=mapping, quality=quality)
    file = tx.attrs.get("source")
    for c in covariates:
        if c not in tx.columns:
            raise DataError(f"covariate column not found; columns are {list(tx.columns)}",
                            file=file, column=c)
    codes, ids = factorize(tx["customer_id"])  # reuses the contract's, when still valid
    day = tx["date"].dt.normalize().to_numpy().astype("datetime64[D]").astype("int64")
    amount = tx["amount"].to_numpy(dtype=float)
    d0, span = int(day.min()), int(day.max() - day.min()) + 1
    key = codes.astype("int64") * span + (day - d0)
    order = np.argsort(key.astype("int32") if len(ids) * span < 2**31 else key)
    rows = _Rows(tx.index, quality)
    same = _identical_rows(tx, codes, key, order)
    if drop_dups:
        rows.exclude(same, REASONS[0])
    else:
        rows.note(same, NOTES[0])
    first, last = (np.datetime64(int(f(day[rows.alive])), "D").item() for f in (np.min, np.max))
    obs, cal = check_window(first, last, obs, cal, file)
    rows.exclude(day > _day_number(obs), REASONS[1])
    rows.exclude(amount < 0, REASONS[2])
    if keep_zero:
        rows.note(amount == 0, NOTES[1])
    else:
        rows.exclude(amount == 0, REASONS[3])
    late = np.full(len(ids), np.iinfo("int64").max)
    np.minimum.at(late, codes[rows.alive], day[rows.alive])
    rows.exclude(late[codes] > _day_number(cal), REASONS[4])
    if not rows.alive.any():
        raise DataError("no purchases left after the exclusions (see the data-quality table)",
                        file=file, column="amount")
    order = order[rows.alive[order]]  # still sorted by customer and day
    days = _purchase_days(key, amount, order, span, d0, tx, covariates)
    return _customer_table(days, ids, time_unit, obs, cal, covariates, int(rows.alive.sum()),
                           quality)


def _day_number(day: dt.date) -> int:
    return int(np.datetime64(day, "D").astype("int64"))


def _identical_rows(tx: pd.DataFrame, codes: np.ndarray, key: np.ndarray,
                    order: np.ndarray) -> np.ndarray:
    """Rows identical to an earlier row (every column, the customer by its code), looked for
    only among customer-days with several rows: identical rows share one."""
    k = key[order]
    multi = np.zeros(len(k), dtype=bool)
    multi[1:] = k[1:] == k[:-1]
    multi[:-1] |= multi[1:]
    candidates = np.sort(order[multi])
    same = np.zeros(len(key), dtype=bool)
    if len(candidates):
        others = [c for c in tx.columns if c != "customer_id"]
        rows = tx[others].iloc[candidates].assign(customer_id=codes[candidates])
        same[candidates] = rows.duplicated(keep="first").to_numpy()
    return same


def _purchase_days(key, amount, order, span: int, d0: int, tx: pd.DataFrame,
                   covariates) -> pd.DataFrame:
    """One row per customer (integer code) and purchase day, sorted by both, from the rows
    ``order`` (sorted by ``key``): ``spend``, ``rows`` and the covariates' smallest value
    of the day."""
    k = key[order]
    start = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    sizes = np.diff(np.r_[start, len(k)])
    out = pd.DataFrame({
        "customer_id": k[start] // span,
        "day": (k[start] % span + d0).astype("datetime64[D]").astype("datetime64[ns]"),
        "spend": np.add.reduceat(amount[order], start),
        "rows": sizes}, copy=False)  # one block per column: no consolidating copy
    if covariates:
        group = np.repeat(np.arange(len(start)), sizes)
        for c in covariates:
            out[c] = tx[c].iloc[order].groupby(group, sort=True).min().to_numpy()
    return out


def _customer_table(days: pd.DataFrame, ids, time_unit: str, obs: dt.date, cal: dt.date,
                    covariates, n_tx: int, quality) -> CustomerSummary:
    """Per-customer aggregates from the purchase days of :func:`_purchase_days` (sorted by
    customer code and day; ``ids[code]`` is the customer id)."""
    cust = days["customer_id"].to_numpy()
    day = days["day"].to_numpy()
    spend = days["spend"].to_numpy()
    is_first = np.r_[True, cust[1:] != cust[:-1]]
    start = np.flatnonzero(is_first)
    in_cal = day <= np.datetime64(cal, "ns")
    paid = spend > 0

    def per_customer(values) -> np.ndarray:
        return np.add.reduceat(values, start)

    n_cal = per_customer(in_cal.astype("int64"))
    agg = pd.DataFrame({
        "n_cal": n_cal, "last_purchase": day[start + n_cal - 1],
        "total_spend": per_customer(np.where(in_cal, spend, 0.0)),
        "paid_cal": per_customer((paid & in_cal).astype("int64")),
        "first_purchase": day[start], "first_spend": spend[start],
        "frequency_holdout": per_customer((~in_cal).astype("int64")),
        "spend_holdout": per_customer(np.where(in_cal, 0.0, spend)),
        "paid_holdout": per_customer((paid & ~in_cal).astype("int64")),
    }, index=pd.Index(np.asarray(ids)[cust[start]], name="customer_id"))
    for cov in covariates:
        agg[cov] = days[cov].to_numpy()[start]
    daily = pd.DataFrame({"first": pd.Series(day[is_first]).value_counts(),
                          "repeat": pd.Series(day[~is_first]).value_counts()})
    return finish(agg, daily, time_unit, obs, cal, covariates, n_tx, quality)
