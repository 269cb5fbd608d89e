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
from typing import TypeAlias

import numpy as np
import pandas as pd

from ..io import DataError, DataQualityReport, load_transactions
from ..io.contracts import source_row
from .spark.summary import SparkCustomerSummary, summarise_spark
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
        return summarise_spark(source, time_unit=time_unit, observation_end=obs,
                               calibration_end=cal, mapping=mapping, covariates=covariates,
                               zero_amounts=zero_amounts, duplicates="drop" if drop_dups
                               else "keep", quality=quality)
    raise ValueError(f"engine must be 'pandas', 'duckdb' or 'spark', got {engine!r}")


def _exclude(quality, df: pd.DataFrame, mask: pd.Series, reason: str) -> pd.DataFrame:
    n = int(mask.sum())
    example = None
    if n:
        pos = int(np.flatnonzero(mask.to_numpy())[0])
        example = f"row {source_row(df, pos)}"
    quality.exclude(INPUT, reason, n, example)
    return df.loc[~mask.to_numpy()]


def _summarise_pandas(source, *, time_unit, obs, cal, mapping, covariates, keep_zero,
                      drop_dups, quality) -> CustomerSummary:
    tx = load_transactions(source, mapping=mapping, quality=quality)
    file = tx.attrs.get("source")
    for c in covariates:
        if c not in tx.columns:
            raise DataError(f"covariate column not found; columns are {list(tx.columns)}",
                            file=file, column=c)
    same = tx.duplicated(keep="first")
    if drop_dups:
        tx = _exclude(quality, tx, same, REASONS[0])
    else:
        _note(quality, tx, same, NOTES[0])
    day = tx["date"].dt.normalize()
    obs, cal = check_window(day.min().date(), day.max().date(), obs, cal, file)
    tx = tx.assign(day=day)
    tx = _exclude(quality, tx, tx["day"] > pd.Timestamp(obs), REASONS[1])
    tx = _exclude(quality, tx, tx["amount"] < 0, REASONS[2])
    zero = tx["amount"] == 0
    if keep_zero:
        _note(quality, tx, zero, NOTES[1])
    else:
        tx = _exclude(quality, tx, zero, REASONS[3])
    first_day = tx.groupby("customer_id")["day"].transform("min")
    tx = _exclude(quality, tx, first_day > pd.Timestamp(cal), REASONS[4])
    if tx.empty:
        raise DataError("no purchases left after the exclusions (see the data-quality table)",
                        file=file, column="amount")
    agg = {"spend": ("amount", "sum"), "rows": ("amount", "size")}
    agg.update({c: (c, "min") for c in covariates})
    days = tx.groupby(["customer_id", "day"], sort=True).agg(**agg).reset_index()
    return _customer_table(days, time_unit, obs, cal, covariates, len(tx), quality)


def _note(quality, df: pd.DataFrame, mask: pd.Series, what: str) -> None:
    n = int(mask.sum())
    example = f"row {source_row(df, int(np.flatnonzero(mask.to_numpy())[0]))}" if n else None
    quality.note(INPUT, what, n, example)


def _customer_table(days: pd.DataFrame, time_unit: str, obs: dt.date, cal: dt.date,
                    covariates, n_tx: int, quality) -> CustomerSummary:
    """Per-customer aggregates from one row per customer and purchase day (pandas engine)."""
    cal_ts = pd.Timestamp(cal)
    days = days.sort_values(["customer_id", "day"], kind="stable")
    days["paid"] = (days["spend"] > 0).astype("int64")
    is_first = ~days["customer_id"].duplicated()
    in_cal = days["day"] <= cal_ts
    c = days[in_cal].groupby("customer_id", sort=True)
    first = days[is_first].set_index("customer_id")
    agg = pd.DataFrame({"n_cal": c.size(), "last_purchase": c["day"].max(),
                        "total_spend": c["spend"].sum(), "paid_cal": c["paid"].sum()})
    agg["first_purchase"] = first["day"]
    agg["first_spend"] = first["spend"]
    for cov in covariates:
        agg[cov] = first[cov]
    h = days[~in_cal].groupby("customer_id")
    agg["frequency_holdout"] = h.size().reindex(agg.index, fill_value=0)
    agg["spend_holdout"] = h["spend"].sum().reindex(agg.index, fill_value=0.0)
    agg["paid_holdout"] = h["paid"].sum().reindex(agg.index, fill_value=0)
    daily = pd.DataFrame({"first": days[is_first].groupby("day").size(),
                          "repeat": days[~is_first].groupby("day").size()})
    return finish(agg, daily, time_unit, obs, cal, covariates, n_tx, quality)
