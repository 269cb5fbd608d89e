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

UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}
INPUT = "transactions"
REASONS = ("exact duplicate row", "after observation end", "return (negative amount)",
           "zero amount", "customer first seen after calibration end")
NOTES = ("identical rows, counted as separate purchases",
         "zero amount: a purchase day, left out of the spend model")
DUPLICATES = ("keep", "drop")

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
              zero_amounts: str = "keep", duplicates: str = "keep",
              transaction_col: str | None = None, quality: DataQualityReport | None = None,
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
    zero_amounts : ``"keep"`` (a $0 row is a purchase day, out of the spend model) or
        ``"exclude"`` (the row is dropped, counted).
    duplicates : ``"keep"`` (identical rows are separate purchases) or ``"drop"``.
    transaction_col : column identifying transactions (mapped to ``order_id``); when
        given, identical rows are one transaction and dropped.
    quality : ledger receiving read and excluded counts (a new one if None).
    memory_limit, threads : DuckDB settings (e.g. ``"2GB"``; default ``"3GB"`` and all cores);
        DuckDB spills to disk beyond the limit.
    """
    _check_unit(time_unit)
    if zero_amounts not in ("exclude", "keep"):
        raise ValueError(f"zero_amounts must be 'exclude' or 'keep', got {zero_amounts!r}")
    if duplicates not in DUPLICATES:
        raise ValueError(f"duplicates must be 'keep' or 'drop', got {duplicates!r}")
    if transaction_col:
        mapping = {**(mapping or {}), "order_id": transaction_col}
    drop_dups = duplicates == "drop" or bool(transaction_col)
    quality = quality if quality is not None else DataQualityReport()
    obs = _as_date(observation_end, "observation_end")
    cal = _as_date(calibration_end, "calibration_end")
    if engine is None:
        suffix = Path(source).suffix.lower() if not isinstance(source, pd.DataFrame) else ""
        engine = "duckdb" if suffix in (".csv", ".txt", ".parquet", ".pq") else "pandas"
    opts = dict(time_unit=time_unit, obs=obs, cal=cal, mapping=mapping,
                covariates=tuple(covariates), keep_zero=zero_amounts == "keep",
                drop_dups=drop_dups, quality=quality)
    if engine == "pandas":
        return _summarise_pandas(source, **opts)
    if engine == "duckdb":
        from .summary_duckdb import summarise_duckdb
        return summarise_duckdb(source, memory_limit=memory_limit, threads=threads, **opts)
    if engine == "spark":
        from .spark import summarise_spark
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
    codes, ids = pd.factorize(tx["customer_id"])
    day = tx["date"].dt.normalize().to_numpy().astype("datetime64[D]").astype("int64")
    amount = tx["amount"].to_numpy(dtype=float)
    d0, span = int(day.min()), int(day.max() - day.min()) + 1
    key = codes.astype("int64") * span + (day - d0)
    order = np.argsort(key.astype("int32") if len(ids) * span < 2**31 else key)
    rows = _Rows(tx.index, quality)
    same = _identical_rows(tx.assign(customer_id=codes), key, order)
    if drop_dups:
        rows.exclude(same, REASONS[0])
    else:
        rows.note(same, NOTES[0])
    first, last = (np.datetime64(int(f(day[rows.alive])), "D").item() for f in (np.min, np.max))
    obs, cal = _check_window(first, last, obs, cal, file)
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


def _identical_rows(tx: pd.DataFrame, key: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Rows identical to an earlier row (every column), looked for only among customer-days
    with several rows: identical rows share one."""
    k = key[order]
    multi = np.zeros(len(k), dtype=bool)
    multi[1:] = k[1:] == k[:-1]
    multi[:-1] |= multi[1:]
    candidates = np.sort(order[multi])
    same = np.zeros(len(key), dtype=bool)
    if len(candidates):
        same[candidates] = tx.iloc[candidates].duplicated(keep="first").to_numpy()
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
        "rows": sizes})
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


def finish(agg: pd.DataFrame, daily: pd.DataFrame, time_unit: str, obs: dt.date,
           cal: dt.date, covariates, n_tx: int, quality) -> CustomerSummary:
    """Build the :class:`CustomerSummary` from per-customer aggregates (both engines).

    ``agg`` is indexed by customer id with n_cal, first_purchase, last_purchase,
    total_spend, first_spend, paid_cal (calibration days with a positive spend),
    covariates, frequency_holdout, spend_holdout, paid_holdout;
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
    first_spend = agg["first_spend"].to_numpy(dtype=float)
    paid = agg["paid_cal"].to_numpy().astype("int64") - (first_spend > 0)
    out["monetary_value"] = np.where(paid > 0, (total - first_spend) / np.maximum(paid, 1), 0.0)
    out["frequency_spend"] = paid
    out["total_spend"] = total
    out["first_purchase"], out["last_purchase"] = first, last
    for cov in covariates:
        out[cov] = agg[cov].to_numpy()
    if cal < obs:
        fh = agg["frequency_holdout"].to_numpy().astype("int64")
        sh = agg["spend_holdout"].to_numpy(dtype=float)
        out["frequency_holdout"], out["spend_holdout"] = fh, sh
        ph = agg["paid_holdout"].to_numpy().astype("int64")
        out["monetary_value_holdout"] = np.where(ph > 0, sh / np.maximum(ph, 1), 0.0)
        out["duration_holdout"] = (obs - cal).days / unit
    daily = daily.copy()
    daily.index = pd.to_datetime(daily.index).astype("datetime64[ns]")
    daily = daily.reindex(pd.date_range(out["first_purchase"].min(), obs, freq="D"))
    daily = daily.fillna(0).astype("int64").rename_axis("date")[["first", "repeat"]]
    return CustomerSummary(out, daily, time_unit, obs, cal,
                           pd.Timestamp(out["first_purchase"].min()).date(), int(n_tx), quality)
