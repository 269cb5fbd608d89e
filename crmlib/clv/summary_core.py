"""What every engine of the customer summary shares: time units, exclusion reasons, the
window check and the :class:`CustomerSummary` built from per-customer aggregates.

The conventions are documented in :mod:`crmlib.clv.summary`; the pandas engine lives
there, the DuckDB engine in :mod:`crmlib.clv.summary_duckdb` and the Spark engine in
:mod:`crmlib.clv.spark.summary`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..io import DataError, DataQualityReport

UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}
INPUT = "transactions"
REASONS = ("exact duplicate row", "after observation end", "return (negative amount)",
           "zero amount", "customer first seen after calibration end")
NOTES = ("identical rows, counted as separate purchases",
         "zero amount: a purchase day, left out of the spend model")
DUPLICATES = ("keep", "drop")


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
    """Result of :func:`crmlib.clv.summary.summarise`.

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


def check_unit(time_unit: str) -> float:
    """Days per ``time_unit`` (``"D"``, ``"W"`` or ``"M"``); ValueError for another unit."""
    if time_unit not in UNIT_DAYS:
        raise ValueError(f"time_unit must be one of {list(UNIT_DAYS)}, got {time_unit!r}")
    return UNIT_DAYS[time_unit]


def as_date(value, name: str) -> dt.date | None:
    """``value`` as a date (None stays None); DataError naming ``name`` when it is not one."""
    if value is None:
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError):
        raise DataError(f"{name} is not a date: {value!r}") from None


def check_window(first: dt.date, last: dt.date, obs_end: dt.date | None,
                  cal_end: dt.date | None, file) -> tuple[dt.date, dt.date]:
    """Observation and calibration ends, defaulted from the data\'s last purchase and
    checked against its first (``file`` names the input in the error)."""
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
    first = pd.to_datetime(agg["first_purchase"]).astype("datetime64[ns]").to_numpy()
    last = pd.to_datetime(agg["last_purchase"]).astype("datetime64[ns]").to_numpy()
    total = agg["total_spend"].to_numpy(dtype=float)
    first_spend = agg["first_spend"].to_numpy(dtype=float)
    paid = agg["paid_cal"].to_numpy().astype("int64") - (first_spend > 0)
    cols = {
        "frequency": agg["n_cal"].to_numpy().astype("int64") - 1,
        "recency": (last - first) / np.timedelta64(1, "D") / unit,
        "T": (np.datetime64(cal, "ns") - first) / np.timedelta64(1, "D") / unit,
        "monetary_value": np.where(paid > 0, (total - first_spend) / np.maximum(paid, 1), 0.0),
        "frequency_spend": paid, "total_spend": total,
        "first_purchase": first, "last_purchase": last,
    }
    for cov in covariates:
        cols[cov] = agg[cov].to_numpy()
    if cal < obs:
        fh = agg["frequency_holdout"].to_numpy().astype("int64")
        sh = agg["spend_holdout"].to_numpy(dtype=float)
        ph = agg["paid_holdout"].to_numpy().astype("int64")
        cols.update(frequency_holdout=fh, spend_holdout=sh,
                    monetary_value_holdout=np.where(ph > 0, sh / np.maximum(ph, 1), 0.0),
                    duration_holdout=np.full(len(agg), (obs - cal).days / unit))
    # one block per column, not copied again (millions of customers with the DuckDB engine)
    out = pd.DataFrame(cols, index=agg.index.astype(str).rename("customer_id"), copy=False)
    daily = daily.copy()
    daily.index = pd.to_datetime(daily.index).astype("datetime64[ns]")
    daily = daily.reindex(pd.date_range(out["first_purchase"].min(), obs, freq="D"))
    daily = daily.fillna(0).astype("int64").rename_axis("date")[["first", "repeat"]]
    return CustomerSummary(out, daily, time_unit, obs, cal,
                           pd.Timestamp(out["first_purchase"].min()).date(), int(n_tx), quality)
