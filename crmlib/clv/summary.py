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
* ``monetary_value`` = mean spend of the repeat purchase days (the first
  purchase is excluded; 0 when frequency is 0). ``total_spend`` includes it.
* Excluded rows, counted by reason in the :class:`~crmlib.io.DataQualityReport`
  (in this order): exact duplicates, dates after the observation end, returns
  (negative amounts), zero amounts (``zero_amounts="exclude"``, the default; the
  CDNOW summaries of Fader & Hardie count $0 transactions, ``"keep"``), and rows
  of customers whose first purchase falls after the calibration end.
* With a ``calibration_end`` the holdout runs from the next day to the
  observation end; ``frequency_holdout`` counts purchase days in it,
  ``spend_holdout`` their spend.

Two engines give identical results (tested): ``"pandas"`` (DataFrames, files
that fit in memory; input checked by :func:`crmlib.io.load_transactions`) and
``"duckdb"`` (the default for a path: CSV or Parquet read in place, spilling to
disk beyond ``memory_limit``). The DuckDB engine is our own SQL because no
maintained library summarises transaction logs out of core.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..io import DataError, DataQualityReport, load_transactions
from ..io.contracts import source_row

UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}
INPUT = "transactions"
REASONS = ("exact duplicate row", "after observation end", "return (negative amount)",
           "zero amount", "customer first seen after calibration end")

Source = str | os.PathLike | pd.DataFrame


class SummaryWindow:
    """Time-window properties shared by the summaries of every engine."""

    time_unit: str
    observation_end: dt.date
    calibration_end: dt.date

    @property
    def has_holdout(self) -> bool:
        return self.calibration_end < self.observation_end

    @property
    def unit_name(self) -> str:
        return UNIT_NAMES[self.time_unit]

    @property
    def holdout_length(self) -> float:
        """Length of the holdout period in ``time_unit``."""
        return (self.observation_end - self.calibration_end).days / UNIT_DAYS[self.time_unit]


@dataclass
class CustomerSummary(SummaryWindow):
    """Result of :func:`summarise`.

    Attributes
    ----------
    customers : one row per customer (index ``customer_id``): frequency, recency, T,
        monetary_value, total_spend, first_purchase, last_purchase, covariates, and with a
        holdout frequency_holdout, spend_holdout, monetary_value_holdout, duration_holdout.
    daily : per calendar day, ``first`` (customers making their first purchase) and
        ``repeat`` (repeat purchase days) over calibration and holdout.
    """

    customers: pd.DataFrame
    daily: pd.DataFrame
    time_unit: str
    observation_end: dt.date
    calibration_end: dt.date
    first_date: dt.date
    n_transactions: int
    quality: DataQualityReport = field(default_factory=DataQualityReport)



def _check_unit(time_unit: str) -> float:
    if time_unit not in UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {list(UNIT_DAYS)}, got {time_unit!r}")
    return UNIT_DAYS[time_unit]


def _as_date(value, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise DataError(f"{name} is not a date: {value!r}") from None


def _check_window(first: dt.date, last: dt.date, obs_end: dt.date | None,
                  cal_end: dt.date | None, file) -> tuple[dt.date, dt.date]:
    obs_end = obs_end or last
    if obs_end < first:
        raise DataError(f"observation_end {obs_end} is before the first purchase ({first})",
                        file=file, column="date")
    cal_end = cal_end or obs_end
    if not first <= cal_end <= obs_end:
        raise DataError(f"calibration_end {cal_end} is outside the data: it must lie between "
                        f"the first purchase ({first}) and the observation end ({obs_end})",
                        file=file, column="date")
    return obs_end, cal_end


def summarise(source: Source, *, time_unit: str = "W", observation_end=None,
              calibration_end=None, engine: str | None = None,
              mapping: dict[str, str] | None = None, covariates: Sequence[str] = (),
              zero_amounts: str = "exclude", quality: DataQualityReport | None = None,
              memory_limit: str | None = None, threads: int | None = None) -> CustomerSummary:
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
    zero_amounts : ``"exclude"`` (counted) or ``"keep"`` (a $0 row is a purchase).
    quality : ledger receiving read and excluded counts (a new one if None).
    memory_limit, threads : DuckDB settings (e.g. ``"2GB"``; default ``"3GB"`` and all cores);
        DuckDB spills to disk beyond the limit.
    """
    _check_unit(time_unit)
    if zero_amounts not in ("exclude", "keep"):
        raise ValueError(f"zero_amounts must be 'exclude' or 'keep', got {zero_amounts!r}")
    quality = quality if quality is not None else DataQualityReport()
    obs = _as_date(observation_end, "observation_end")
    cal = _as_date(calibration_end, "calibration_end")
    if engine is None:
        suffix = Path(source).suffix.lower() if not isinstance(source, pd.DataFrame) else ""
        engine = "duckdb" if suffix in (".csv", ".txt", ".parquet", ".pq") else "pandas"
    opts = dict(time_unit=time_unit, obs=obs, cal=cal, mapping=mapping,
                covariates=tuple(covariates), keep_zero=zero_amounts == "keep", quality=quality)
    if engine == "pandas":
        return _summarise_pandas(source, **opts)
    if engine == "duckdb":
        from .summary_duckdb import summarise_duckdb
        return summarise_duckdb(source, memory_limit=memory_limit, threads=threads, **opts)
    if engine == "spark":
        from .spark import summarise_spark
        return summarise_spark(source, time_unit=time_unit, observation_end=obs,
                               calibration_end=cal, mapping=mapping, covariates=covariates,
                               zero_amounts=zero_amounts, quality=quality)
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
                      quality) -> CustomerSummary:
    tx = load_transactions(source, mapping=mapping, quality=quality)
    file = tx.attrs.get("source")
    for c in covariates:
        if c not in tx.columns:
            raise DataError(f"covariate column not found; columns are {list(tx.columns)}",
                            file=file, column=c)
    day = tx["date"].dt.normalize()
    obs, cal = _check_window(day.min().date(), day.max().date(), obs, cal, file)
    tx = tx.assign(day=day)
    tx = _exclude(quality, tx, tx["day"] > pd.Timestamp(obs), REASONS[1])
    tx = _exclude(quality, tx, tx["amount"] < 0, REASONS[2])
    tx = _exclude(quality, tx, (tx["amount"] == 0) & (not keep_zero), REASONS[3])
    first_day = tx.groupby("customer_id")["day"].transform("min")
    tx = _exclude(quality, tx, first_day > pd.Timestamp(cal), REASONS[4])
    if tx.empty:
        raise DataError("no purchases left after the exclusions (see the data-quality table)",
                        file=file, column="amount")
    agg = {"spend": ("amount", "sum"), "rows": ("amount", "size")}
    agg.update({c: (c, "min") for c in covariates})
    days = tx.groupby(["customer_id", "day"], sort=True).agg(**agg).reset_index()
    return _customer_table(days, time_unit, obs, cal, covariates, len(tx), quality)


def _customer_table(days: pd.DataFrame, time_unit: str, obs: dt.date, cal: dt.date,
                    covariates, n_tx: int, quality) -> CustomerSummary:
    """Per-customer aggregates from one row per customer and purchase day (pandas engine)."""
    cal_ts = pd.Timestamp(cal)
    days = days.sort_values(["customer_id", "day"], kind="stable")
    is_first = ~days["customer_id"].duplicated()
    in_cal = days["day"] <= cal_ts
    c = days[in_cal].groupby("customer_id", sort=True)
    first = days[is_first].set_index("customer_id")
    agg = pd.DataFrame({"n_cal": c.size(), "last_purchase": c["day"].max(),
                        "total_spend": c["spend"].sum()})
    agg["first_purchase"] = first["day"]
    agg["first_spend"] = first["spend"]
    for cov in covariates:
        agg[cov] = first[cov]
    h = days[~in_cal].groupby("customer_id")
    agg["frequency_holdout"] = h.size().reindex(agg.index, fill_value=0)
    agg["spend_holdout"] = h["spend"].sum().reindex(agg.index, fill_value=0.0)
    daily = pd.DataFrame({"first": days[is_first].groupby("day").size(),
                          "repeat": days[~is_first].groupby("day").size()})
    return finish(agg, daily, time_unit, obs, cal, covariates, n_tx, quality)


def finish(agg: pd.DataFrame, daily: pd.DataFrame, time_unit: str, obs: dt.date,
           cal: dt.date, covariates, n_tx: int, quality) -> CustomerSummary:
    """Build the :class:`CustomerSummary` from per-customer aggregates (both engines).

    ``agg`` is indexed by customer id with n_cal, first_purchase, last_purchase,
    total_spend, first_spend, covariates, frequency_holdout, spend_holdout;
    ``daily`` is indexed by day with first and repeat counts.
    """
    unit = UNIT_DAYS[time_unit]
    agg = agg.sort_index()
    out = pd.DataFrame(index=agg.index.astype(str).rename("customer_id"))
    out["frequency"] = agg["n_cal"].to_numpy().astype("int64") - 1
    first = pd.to_datetime(agg["first_purchase"]).astype("datetime64[ns]").to_numpy()
    last = pd.to_datetime(agg["last_purchase"]).astype("datetime64[ns]").to_numpy()
    out["recency"] = (last - first) / np.timedelta64(1, "D") / unit
    out["T"] = (np.datetime64(cal, "ns") - first) / np.timedelta64(1, "D") / unit
    total = agg["total_spend"].to_numpy(dtype=float)
    freq = out["frequency"].to_numpy()
    out["monetary_value"] = np.where(freq > 0, (total - agg["first_spend"].to_numpy(dtype=float))
                                     / np.maximum(freq, 1), 0.0)
    out["total_spend"] = total
    out["first_purchase"], out["last_purchase"] = first, last
    for cov in covariates:
        out[cov] = agg[cov].to_numpy()
    if cal < obs:
        fh = agg["frequency_holdout"].to_numpy().astype("int64")
        sh = agg["spend_holdout"].to_numpy(dtype=float)
        out["frequency_holdout"], out["spend_holdout"] = fh, sh
        out["monetary_value_holdout"] = np.where(fh > 0, sh / np.maximum(fh, 1), 0.0)
        out["duration_holdout"] = (obs - cal).days / unit
    daily = daily.copy()
    daily.index = pd.to_datetime(daily.index).astype("datetime64[ns]")
    daily = daily.reindex(pd.date_range(out["first_purchase"].min(), obs, freq="D"))
    daily = daily.fillna(0).astype("int64").rename_axis("date")[["first", "repeat"]]
    return CustomerSummary(out, daily, time_unit, obs, cal,
                           pd.Timestamp(out["first_purchase"].min()).date(), int(n_tx), quality)
